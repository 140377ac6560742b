import { describe, expect, it } from 'vitest';
import { fileExtensionOfUrl, hasFileNameSuffix, isValidFileExtension } from './vod-file-name.js';

describe('UploadMediaByUrl file name rules', () => {
  it('FileExtension starts with "." and has at most 8 characters', () => {
    for (const ok of ['.mp4', '.m3u8', '.MOV', '.abcdefg']) expect(isValidFileExtension(ok), ok).toBe(true);
    for (const bad of ['mp4', '.', '.abcdefgh', '.mp 4', '..mp4', '.mp4?'])
      expect(isValidFileExtension(bad), bad).toBe(false);
  });

  it('FileName needs a suffix; VOD’s stored names have none', () => {
    expect(hasFileNameSuffix('movie.mp4')).toBe(true);
    expect(hasFileNameSuffix('dir.v2/movie.mp4')).toBe(true);
    expect(hasFileNameSuffix('e4c13e5505874e4b1e74c8616')).toBe(false);
    expect(hasFileNameSuffix('dir.v2/movie')).toBe(false);
    expect(hasFileNameSuffix('.hidden')).toBe(false);
  });

  it('the extension of a URL’s path only, and only when valid', () => {
    expect(fileExtensionOfUrl('https://h.example/a/b.mp4?sig=1.2&x=.mov')).toBe('.mp4');
    expect(fileExtensionOfUrl('https://h.example/a.v1/stream')).toBeUndefined();
    expect(fileExtensionOfUrl('https://h.example/a/b.toolongext')).toBeUndefined();
    expect(fileExtensionOfUrl('https://h.example/')).toBeUndefined();
    expect(fileExtensionOfUrl('not a url')).toBeUndefined();
  });
});
