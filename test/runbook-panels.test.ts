import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@vod-callbacks/test-support';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// An operator paged by an alert is sent to dashboard panels by name, from the alert's annotations
// and from README's runbook of it: each name must be a panel (or row) of the dashboard.

interface Panel {
  title: string;
  panels?: Panel[];
}

function panelTitles(): Set<string> {
  const file = join(REPO_ROOT, 'deploy', 'grafana', 'dashboards', 'vod-callbacks.json');
  const dash = JSON.parse(readFileSync(file, 'utf8')) as { panels: Panel[] };
  return new Set(dash.panels.flatMap((p) => [p, ...(p.panels ?? [])]).map((p) => p.title));
}

/** The "quoted" names in a text, outside `code spans` and {{ templates }} (queries and formats, not names). */
function quotedNames(text: string): string[] {
  const prose = text.replace(/`[^`]*`/g, '').replace(/\{\{[^}]*\}\}/g, '');
  return [...prose.matchAll(/"([^"\n]+)"/g)].map((m) => m[1]!);
}

/** Each alert's description and runbook annotations. */
function alertAnnotations(): { alert: string; text: string }[] {
  const file = join(REPO_ROOT, 'deploy', 'prometheus', 'rules', 'alerts.yml');
  const rules = parse(readFileSync(file, 'utf8')) as {
    groups: { rules: { alert?: string; annotations?: Record<string, string> }[] }[];
  };
  return rules.groups.flatMap((g) =>
    g.rules
      .filter((r) => r.alert)
      .map((r) => ({
        alert: r.alert!,
        text: [r.annotations?.description ?? '', r.annotations?.runbook ?? ''].join('\n'),
      })),
  );
}

/** README's runbook section of each alert (`#### <alert>` under `### Alerts`). */
function readmeRunbooks(): { alert: string; text: string }[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = /^### Alerts\n([\s\S]*?)(?=^### )/m.exec(readme)?.[1] ?? '';
  return section
    .split(/^#### /m)
    .slice(1)
    .map((part) => ({ alert: part.slice(0, part.indexOf('\n')).trim(), text: part }));
}

describe('panel names referenced from the alert runbooks', () => {
  const titles = panelTitles();

  it('finds names the way an operator reads them (quotes outside code spans)', () => {
    expect(quotedNames('open "Failure ratio", `up{job="vod-worker"}` at {{ printf "%.2f" $value }}')).toEqual(
      ['Failure ratio'],
    );
  });

  it('each panel named in an alert annotation is on the dashboard', () => {
    const annotations = alertAnnotations();
    expect(annotations.length).toBeGreaterThan(5);
    const missing = annotations.flatMap(({ alert, text }) =>
      quotedNames(text)
        .filter((name) => !titles.has(name))
        .map((name) => `${alert}: "${name}"`),
    );
    expect(missing).toEqual([]);
  });

  it('each panel named in README’s runbooks is on the dashboard, and every alert has a runbook there', () => {
    const runbooks = readmeRunbooks();
    expect(runbooks.map((r) => r.alert).sort()).toEqual(
      alertAnnotations()
        .map((a) => a.alert)
        .sort(),
    );
    const missing = runbooks.flatMap(({ alert, text }) =>
      quotedNames(text)
        .filter((name) => !titles.has(name))
        .map((name) => `${alert}: "${name}"`),
    );
    expect(missing).toEqual([]);
  });
});
