export * from './app-process.js';
export * from './free-port.js';
export * from './redis-cluster.js';
export * from './redis-server.js';
export * from './sentinel-group.js';
export * from './test-redis.js';
export * from './wait-for.js';
export * from './webhook-receiver.js';
