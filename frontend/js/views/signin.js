// Sign in: labelled fields with autocomplete hints for password managers, clear errors, a
// countdown when the server throttles attempts (429 with Retry-After), and why the last session
// ended when it did not end by the person's own click here.
import { field, h, replace } from "../dom.js";

export function render(ctx) {
  const email = h("input", {
    type: "email",
    name: "email",
    autocomplete: "username",
    required: true,
    autocapitalize: "none",
    spellcheck: "false",
  });
  const password = h("input", {
    type: "password",
    name: "password",
    autocomplete: "current-password",
    required: true,
  });
  const errors = h("div", { id: "signin-errors" });
  const why = ctx.signinNotice();
  const notice = why ? h("p", { class: "notice", id: "signin-notice", role: "status" }, why) : null;
  const submit = h("button", { type: "submit", class: "btn" }, "Sign in");
  let countdown = null;

  const form = h(
    "form",
    { class: "signin panel glass", "aria-labelledby": "signin-title", novalidate: true },
    h("h1", { id: "signin-title" }, "Sign in to AION"),
    notice,
    errors,
    field("Email", email).wrap,
    field("Password", password).wrap,
    submit,
  );

  function fail(message, invalid) {
    replace(errors, h("div", { class: "form-error", role: "alert" }, message));
    for (const input of [email, password]) {
      if (invalid.includes(input)) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
      if (invalid.includes(input)) input.setAttribute("aria-describedby", "signin-errors");
    }
    if (invalid[0]) invalid[0].focus();
  }

  function throttle(seconds) {
    let left = Math.max(1, Math.ceil(seconds));
    submit.disabled = true;
    const box = h("div", { class: "form-error", role: "alert" });
    replace(errors, box);
    const paint = () => {
      box.textContent = `Too many sign-in attempts. Try again in ${left} second${left === 1 ? "" : "s"}.`;
    };
    paint();
    clearInterval(countdown);
    countdown = setInterval(() => {
      left -= 1;
      if (left <= 0) {
        clearInterval(countdown);
        submit.disabled = false;
        box.textContent = "You can try signing in again now.";
        return;
      }
      paint();
    }, 1000);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const missing = [email, password].filter((i) => !i.value.trim());
    if (missing.length) {
      fail("Enter your email and password.", missing);
      return;
    }
    if (!email.validity.valid) {
      fail("Enter a valid email address, like name@example.com.", [email]);
      return;
    }
    submit.disabled = true;
    submit.textContent = "Signing in…";
    try {
      await ctx.api.login(email.value.trim(), password.value);
      ctx.announce("Signed in");
      ctx.navigate("/dashboard");
    } catch (err) {
      submit.textContent = "Sign in";
      if (err.status === 429) {
        throttle(err.retryAfter || 30);
        return;
      }
      submit.disabled = false;
      if (err.status === 401 || err.status === 400) {
        password.value = "";
        fail(err.message || "The email or password is not right.", [email, password]);
      } else {
        fail(err.message || "Sign in failed. Try again.", []);
      }
    }
  });

  replace(ctx.main, form);
  return () => clearInterval(countdown);
}
