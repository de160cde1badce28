// Names for user ids. Admins can list users; members see themselves as "me" and others by id
// (the API does not show other people's profiles to members).

/** who(id) -> a name for people; loads the user list once per screen when the caller may. */
export async function loadPeople(api) {
  const isAdmin = api.user && api.user.role === "admin";
  const users = isAdmin ? await api.listAll("/users").catch(() => []) : [];
  return (id) => {
    if (!id) return "nobody";
    if (api.user && id === api.user.id) return "me";
    const u = users.find((x) => x.id === id);
    return u ? u.name || u.email : id;
  };
}
