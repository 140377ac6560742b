/**
 * Variables DESIGN.md's contract defines that this build does not implement yet. A process started with
 * one of them set stops (exit 78) instead of running without what the operator asked for.
 * When a feature lands, delete its lines here (and declare its variables in the app's env table).
 * A name ending in `*` covers every variable with that prefix.
 */
export const NOT_IMPLEMENTED_ENV: readonly { name: string; feature: string }[] = [
  { name: 'REDIS_CLUSTER_NODES', feature: 'Redis Cluster' },
  { name: 'EVENT_SHARDS', feature: 'event shards' },
  { name: 'WORKER_SHARDS', feature: 'event shards' },
];

/**
 * The first variable set in `env` that the table lists and `declared` does not (a declared one is
 * implemented, whatever the table says), as a message; undefined when there is none.
 */
export function notImplementedProblem(
  declared: readonly string[],
  env: NodeJS.ProcessEnv,
): string | undefined {
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '' || declared.includes(name)) continue;
    const entry = NOT_IMPLEMENTED_ENV.find((e) =>
      e.name.endsWith('*') ? name.startsWith(e.name.slice(0, -1)) : name === e.name,
    );
    if (entry)
      return `${name} is set, but ${entry.feature} (DESIGN.md) is not implemented in this build yet; unset ${name}`;
  }
  return undefined;
}
