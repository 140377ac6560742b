import { join } from 'node:path';
import { REPO_ROOT } from '@vod-callbacks/test-support';
import ts from 'typescript';
import type { K8sObject } from './kustomize.js';

/** Schema packages by API group; the core and k8s.io groups are in kubernetes-models. */
const MODEL_PACKAGES: Record<string, string> = {
  'keda.sh': '@kubernetes-models/keda',
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
};

/** Module path of the kubernetes-models class (and `I<Kind>` interface) of an object's kind. */
export function modelPath(obj: K8sObject): string {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const pkg = MODEL_PACKAGES[group] ?? 'kubernetes-models';
  return group ? `${pkg}/${group}/${version}/${obj.kind}` : `${pkg}/${version}/${obj.kind}`;
}

/**
 * Fields no schema knows. The JSON-schema validators of kubernetes-models accept unknown fields (so does
 * the API server unless asked to be strict), which would let a misspelt `readinessProbe` pass silently.
 * The same packages' TypeScript interfaces are exact, so each object is type-checked as an object
 * literal of its kind's interface: TypeScript rejects any property the interface does not declare, at
 * any depth. One program for all objects (a program costs seconds); no file is written.
 */
export function unknownFieldProblems(objects: K8sObject[]): string[] {
  const file = join(REPO_ROOT, 'test', '__k8s_objects__.ts');
  const source = objects
    .map(
      (o, i) =>
        `import type { I${o.kind} as T${i} } from '${modelPath(o)}';\nexport const o${i}: T${i} = ${JSON.stringify(o)};`,
    )
    .join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2022,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, source, language) : getSourceFile(name, language, ...rest);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    if (!d.file || d.start === undefined) return message;
    // Two lines per object: the import, then the literal.
    const line = d.file.getLineAndCharacterOfPosition(d.start).line;
    const o = objects[Math.floor(line / 2)];
    return `${o?.kind} ${o?.metadata?.name}: ${message}`;
  });
}
