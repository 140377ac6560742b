export * from './app.js';
export * from './config.js';
export * from './load-generator.js';
export * from './openapi-signature.js';
export * from './scenario.js';
export * from './vod-simulator.js';
