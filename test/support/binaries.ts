import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Absolute path of an executable from PATH (or one of `extra` absolute paths). Throws a message that
 * says which Debian package provides it, so a missing tool fails the test clearly instead of skipping.
 */
export function requireBinary(name: string, debianPackage: string, extra: string[] = []): string {
  const candidates = [...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, name)), ...extra];
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    `${name} not found on PATH: install Debian's ${debianPackage} package (apt-get install -y ${debianPackage}); npm test does this when run as root`,
  );
}
