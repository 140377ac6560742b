// The realistic FileUploadByUrlComplete callback the benchmarks send, and the mix of results.

const CODES = {
  success: { Code: 'Success', Message: 'file upload success' },
  retryable: { Code: 'UploadFailed.UrlUploadFailed', Message: 'upload to storage failed' },
  permanent: { Code: 'CheckError.Md5MissMatch', Message: 'md5 mismatch' },
};

/** Result of event number `i` in the mix of the issue: ~90% Success, 5% retryable, 5% permanent. */
export function mixedKind(i) {
  const r = i % 20;
  if (r === 7) return 'retryable';
  if (r === 13) return 'permanent';
  return 'success';
}

/**
 * A realistic FileUploadByUrlComplete callback (≈1.2 KB), as VOD sends it (valid JSON, compact).
 * `callbackArgs` is the customer's pass-through; the end-to-end bench puts the send time there.
 */
export function callbackBody(requestId, kind = 'success', callbackArgs = '') {
  const c = CODES[kind];
  const ok = kind === 'success';
  const n = requestId.length;
  return JSON.stringify({
    RequestId: requestId,
    Version: '1.0',
    EventType: 'FileUploadByUrlComplete',
    EventTime: new Date().toISOString().slice(0, 19).concat('Z'),
    Data: {
      Code: c.Code,
      Message: c.Message,
      JobId: `eb7ad5d0d7b44fd3a4c1${requestId}`,
      SourceUrl: `https://media.example-customer.com/library/2024/05/raw/episode-${requestId}-master-1080p.mp4?token=ab12cd34ef56`,
      CallbackArgs:
        callbackArgs || `{"itemId":"item-${n}-${requestId}","tenant":"acme-video","batch":"2024-05-06"}`,
      Vid: ok ? `v02b18g10064cokm8ncmh1il${requestId.slice(-6)}` : '',
      SpaceName: 'acme-vod-prod',
      PosterUri: ok ? `tos-cn-i-0000/poster-${requestId}.jpg` : '',
      SourceInfo: {
        StoreUri: `tos-cn-v-0000/acme/2024/05/06/${requestId}.mp4`,
        Height: ok ? 1080 : 0,
        Width: ok ? 1920 : 0,
        Duration: ok ? 1423.872 : 0,
        Bitrate: ok ? 5234011 : 0,
        Md5: 'd41d8cd98f00b204e9800998ecf8427e',
        Format: 'mp4',
        Size: ok ? 931276544 : 0,
        HlsMediaSize: 0,
        FileName: `library/2024/05/raw/episode-${requestId}-master-1080p.mp4`,
      },
      OptionInfo: {
        TemplateId: '',
        Templates: [
          { TemplateIds: ['a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6'], TemplateType: 'transcode' },
          { TemplateIds: ['f6e5d4c3b2a1f6e5d4c3b2a1f6e5d4c3'], TemplateType: 'imp' },
        ],
      },
    },
  });
}

/**
 * `callbackBody` as a template: returns `(requestId) => body` that only joins strings, so the load
 * generator (on the same 2 cores as the server) spends ~10× less CPU per request than rendering
 * the JSON each time. The Vid embeds the whole id instead of its last 6 characters.
 */
export function callbackBodyTemplate(kind = 'success') {
  const TOKEN = 'R3QU35T1D';
  const parts = callbackBody(TOKEN, kind).split(TOKEN);
  return (requestId) => parts.join(requestId);
}
