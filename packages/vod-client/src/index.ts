export * from './api-env.js';
export * from './api-error.js';
export * from './reconcile.js';
export * from './reupload-defaults.js';
export * from './synthetic-events.js';
export * from './task-event.js';
export * from './url-set.js';
export * from './vod-api.js';
