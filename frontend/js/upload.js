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
