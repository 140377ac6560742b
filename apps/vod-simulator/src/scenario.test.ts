import { describe, expect, it } from 'vitest';
import { outcomeFor, parseScript, ScriptError } from './scenario.js';

describe('scripted outcomes', () => {
  it('plays a URL script step by step, repeating the last step', () => {
    const url = 'https://a.example/v.mp4?vodsim=fail,503,ok';
    expect([1, 2, 3, 4].map((n) => outcomeFor(url, n).code)).toEqual([
      'InternalError.UrlUploadError',
      'DownloadFailed.UrlDownloadFail',
      'Success',
      'Success',
    ]);
    expect(outcomeFor(url, 2).message).toBe('503 Service Unavailable');
  });

  it('knows every catalogue code, custom codes and ~drop', () => {
    expect(
      parseScript('md5,invalid,deny,uploadfail,404,timeout,code=X.Y~drop').map((s) => [s.code, s.drop]),
    ).toEqual([
      ['CheckError.Md5MissMatch', false],
      ['InvalidParameter.InvalidParam', false],
      ['OperationDenied.DenyOverwriteUpload', false],
      ['UploadFailed.UrlUploadFailed', false],
      ['DownloadFailed.UrlDownloadFail', false],
      ['DownloadFailed.UrlDownloadFail', false],
      ['X.Y', true],
    ]);
  });

  it('succeeds without a script, prefers the scenario file, fails bad URLs and scripts like VOD', () => {
    expect(outcomeFor('https://a.example/v.mp4', 1).code).toBe('Success');
    const file = new Map([['https://a.example/v.mp4?vodsim=ok', parseScript('404')]]);
    expect(outcomeFor('https://a.example/v.mp4?vodsim=ok', 1, file).code).toBe(
      'DownloadFailed.UrlDownloadFail',
    );
    expect(outcomeFor('ftp://a.example/v.mp4', 1).code).toBe('InvalidParameter.InvalidParam');
    expect(outcomeFor('https://a.example/v.mp4?vodsim=bogus', 1).code).toBe('InvalidParameter.InvalidParam');
    expect(() => parseScript('ok~later')).toThrow(ScriptError);
  });
});
