import { DECISIONS } from '@vod-callbacks/shared';

const str = (description: string) => ({ type: 'string', description });

const ERROR = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: str('Stable error code.'), message: str('What went wrong.') },
};

/** The latest state of an upload, as `GET /v1/uploads…` answers it. */
const UPLOAD_STATUS = {
  type: 'object',
  required: [
    'sourceKey',
    'outcomeId',
    'requestId',
    'jobId',
    'spaceName',
    'sourceUrl',
    'callbackArgs',
    'code',
    'class',
    'decision',
    'attempt',
    'processedAt',
  ],
  properties: {
    sourceKey: str('Hash of SpaceName + SourceUrl + CallbackArgs.'),
    outcomeId: str('Id of the latest outcome record in the outcomes stream.'),
    requestId: str('RequestId of the callback (or synthetic event) the outcome came from.'),
    jobId: str('VOD JobId of the upload the outcome reports on.'),
    spaceName: str('VOD space.'),
    sourceUrl: str('URL the video was pulled from.'),
    callbackArgs: str('CallbackArgs passed on the upload.'),
    vid: str('VOD video id, on success.'),
    code: str("VOD's Data.Code."),
    class: {
      type: 'string',
      enum: ['success', 'retryable', 'permanent', 'unknown', 'invalid', 'unsupported'],
    },
    decision: { type: 'string', enum: [...DECISIONS] },
    attempt: { type: 'integer', minimum: 0, description: 'Upload number (1 = the original upload).' },
    eventTime: str("The callback's EventTime."),
    processedAt: { type: 'string', format: 'date-time', description: 'When the outcome was recorded.' },
    reason: str('Dead-letter reason, when decision is dead_lettered.'),
    origin: str('reconcile or replay, when the event did not come from a VOD callback.'),
    callbackPendingSince: {
      type: 'string',
      format: 'date-time',
      description: 'Set while a re-upload this system started still waits for its callback.',
    },
  },
};

/** A JSON answer whose body is the schema `schema` of components. */
const jsonAnswer = (description: string, schema: 'UploadStatus' | 'Error') => ({
  description,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } },
});

const responses = {
  '200': jsonAnswer('The latest state of the upload.', 'UploadStatus'),
  '401': jsonAnswer('Missing or wrong bearer token.', 'Error'),
  '404': jsonAnswer(
    'Nothing is recorded for this upload (or it expired, see SOURCE_STATE_TTL_SECONDS).',
    'Error',
  ),
  '503': jsonAnswer('Redis did not answer; retry after Retry-After seconds.', 'Error'),
};

/** OpenAPI 3.1 description of the status API, served at /v1/openapi.json. */
export const STATUS_OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'vod-callbacks status API',
    version: '1',
    description:
      'What happened to an upload: the latest recorded outcome of its source. Enabled by STATUS_API_TOKEN on the ingress.',
  },
  security: [{ bearer: [] }],
  paths: {
    '/v1/uploads/{jobId}': {
      get: {
        operationId: 'getUploadByJobId',
        summary: 'Latest state of the upload a VOD JobId belongs to.',
        parameters: [{ name: 'jobId', in: 'path', required: true, schema: { type: 'string' } }],
        responses,
      },
    },
    '/v1/uploads': {
      get: {
        operationId: 'getUploadBySource',
        summary: 'Latest state of an upload source.',
        description:
          'Without callbackArgs, the latest upload of that SourceUrl answers when it was in spaceName.',
        parameters: [
          { name: 'spaceName', in: 'query', required: true, schema: { type: 'string' } },
          { name: 'sourceUrl', in: 'query', required: true, schema: { type: 'string' } },
          { name: 'callbackArgs', in: 'query', required: false, schema: { type: 'string' } },
        ],
        responses: {
          ...responses,
          '400': jsonAnswer('spaceName or sourceUrl missing (or given twice).', 'Error'),
        },
      },
    },
    '/v1/openapi.json': {
      get: {
        operationId: 'getOpenApi',
        summary: 'This document.',
        responses: {
          '200': { description: 'The OpenAPI description.', content: { 'application/json': {} } },
          '401': responses['401'],
        },
      },
    },
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'STATUS_API_TOKEN' } },
    schemas: { UploadStatus: UPLOAD_STATUS, Error: ERROR },
  },
} as const;
