/*
 * UploadMediaByUrl's rules for the file name and extension a URLSet may carry: FileName must end
 * in a suffix (`name.mp4`; VOD's own stored names have none), and FileExtension starts with `.`
 * and is at most 8 characters in all (`.mp4`, `.m3u8`).
 */

/** Longest FileExtension UploadMediaByUrl takes, the dot included. */
export const MAX_FILE_EXTENSION_CHARS = 8;

const EXTENSION = new RegExp(`^\\.[A-Za-z0-9]{1,${MAX_FILE_EXTENSION_CHARS - 1}}$`);

/** True for a FileExtension VOD accepts: `.` then 1–7 letters or digits. */
export function isValidFileExtension(ext: string): boolean {
  return EXTENSION.test(ext);
}

/** True when a FileName ends in a valid suffix (its last path segment has `.ext`). */
export function hasFileNameSuffix(fileName: string): boolean {
  const base = fileName.slice(fileName.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 && isValidFileExtension(base.slice(dot));
}

/**
 * The extension of a URL's path (`https://h/a/b.MP4?sig=…` → `.MP4`), or undefined when the path
 * has none or it is not a valid FileExtension. The query is ignored: signed URLs put tokens there.
 */
export function fileExtensionOfUrl(url: string): string | undefined {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const ext = base.slice(dot);
  return isValidFileExtension(ext) ? ext : undefined;
}
