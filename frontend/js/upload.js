// Browser → S3 upload with the presigned POST from POST /projects/{id}/files (a task's input,
// uploaded before the task exists) or POST /tasks/{id}/files. XHR (not fetch) because it
// reports upload progress.

/** Uploads `file`; onProgress(fraction 0..1). Resolves when S3 accepts it. */
export function uploadPresigned(upload, file, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(upload.fields || {})) form.append(k, v);
    form.append("file", file); // S3 requires the file to be the last field
    const xhr = new XMLHttpRequest();
    xhr.open("POST", upload.url);
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve();
      } else {
        reject(new Error(`The upload was refused (HTTP ${xhr.status}).`));
      }
    });
    xhr.addEventListener("error", () => reject(new Error("The upload failed: network error.")));
    xhr.addEventListener("abort", () => reject(new Error("The upload was canceled.")));
    xhr.send(form);
  });
}

/**
 * Announces `file` at `path` (POST {filename, contentType, size}), uploads it with progress
 * and confirms it (POST /files/{id}/complete). Resolves with the ready file; rejects if S3 or
 * the check refuses it.
 */
async function registerAndUpload(api, path, file, onProgress) {
  const created = await api.post(path, {
    filename: file.name,
    contentType: file.type || "application/octet-stream",
    size: file.size,
  });
  await uploadPresigned(created.upload, file, onProgress);
  const done = await api.post(`/files/${encodeURIComponent(created.file.id)}/complete`);
  if (done.status !== "ready") {
    throw new Error(`The file was not accepted (${done.status}); it did not match what was announced.`);
  }
  return done;
}

/** Uploads `file` to an existing task (POST /tasks/{id}/files); resolves with the ready file. */
export function attachFile(api, taskId, file, onProgress) {
  return registerAndUpload(api, `/tasks/${encodeURIComponent(taskId)}/files`, file, onProgress);
}

/**
 * Uploads `file` to a project before any task exists (POST /projects/{id}/files); resolves with
 * the ready file, whose id a new task takes as its input (POST /tasks attaches it).
 */
export function uploadToProject(api, projectId, file, onProgress) {
  return registerAndUpload(api, `/projects/${encodeURIComponent(projectId)}/files`, file, onProgress);
}

/** Points a failed/canceled task's input at `fileId` and runs it again. */
export async function runOnFile(api, taskId, fileId) {
  const tid = encodeURIComponent(taskId);
  const current = await api.get(`/tasks/${tid}`);
  await api.patch(`/tasks/${tid}`, { input: fileId }, current.version);
  return api.post(`/tasks/${tid}/retry`);
}
