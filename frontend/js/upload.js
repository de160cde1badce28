// Browser → S3 upload with the presigned POST from POST /tasks/{id}/files. XHR (not fetch)
// because it reports upload progress.

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
 * Registers `file` on a task (POST /tasks/{id}/files), uploads it with progress and confirms
 * it (POST /files/{id}/complete). Resolves with the ready file; rejects if S3 or the check
 * refuses it.
 */
export async function attachFile(api, taskId, file, onProgress) {
  const created = await api.post(`/tasks/${encodeURIComponent(taskId)}/files`, {
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

/** Points a failed/canceled task's input at `fileId` and runs it again. */
export async function runOnFile(api, taskId, fileId) {
  const tid = encodeURIComponent(taskId);
  const current = await api.get(`/tasks/${tid}`);
  await api.patch(`/tasks/${tid}`, { input: fileId }, current.version);
  return api.post(`/tasks/${tid}/retry`);
}
