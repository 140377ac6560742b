import { execFile } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@vod-callbacks/test-support';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);

/** deploy/k8s: the kustomize base and its overlays. */
export const K8S_DIR = join(REPO_ROOT, 'deploy', 'k8s');

/** Every overlay under deploy/k8s/overlays (each is a deployable variant). */
export function overlayNames(): string[] {
  return readdirSync(join(K8S_DIR, 'overlays'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/** A rendered Kubernetes object: apiVersion, kind, metadata, … (loose: the tests read what they check). */
// biome-ignore lint/suspicious/noExplicitAny: rendered YAML is untyped until a schema validated it
export type K8sObject = any;

/**
 * kubectl from PATH. The manifests use kustomize v5 features (`labels`, inline `patches`), which kubectl
 * 1.27+ embeds; Debian's kubernetes-client (1.20, kustomize v2) cannot render them, and no npm package
 * ships kustomize, so a missing kubectl fails the test with this message instead of skipping it.
 */
export function kubectlPath(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const path = join(dir, 'kubectl');
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // next PATH entry
    }
  }
  throw new Error(
    'kubectl not found on PATH: the deploy/k8s tests render the manifests with `kubectl kustomize` (kubectl ≥ 1.27, kustomize v5; no cluster needed). Install kubectl (Kubernetes release binary or your distribution’s package) and rerun.',
  );
}

/** `kubectl kustomize <dir>` parsed into objects; `dir` is relative to deploy/k8s. */
export async function renderKustomization(dir: string): Promise<K8sObject[]> {
  const { stdout } = await run(kubectlPath(), ['kustomize', join(K8S_DIR, dir)], {
    maxBuffer: 16 * 1024 * 1024,
    timeout: 60_000,
  });
  return parseAllDocuments(stdout)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`kustomize output of ${dir}: ${doc.errors[0]?.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

/** The one object of `kind` (and `name`, when given) in a render; throws when absent or ambiguous. */
export function theObject(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1)
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0];
}
