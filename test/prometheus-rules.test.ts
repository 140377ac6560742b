import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@vod-callbacks/test-support';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { requireBinary } from './support/binaries.js';

const run = promisify(execFile);
const PROM_DIR = join(REPO_ROOT, 'deploy', 'prometheus');

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTest {
  name: string;
  alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[];
}

function alertRules(): AlertRule[] {
  const doc = parse(readFileSync(join(PROM_DIR, 'rules', 'alerts.yml'), 'utf8')) as {
    groups: { rules: AlertRule[] }[];
  };
  return doc.groups.flatMap((g) => g.rules);
}

async function promtool(...args: string[]): Promise<string> {
  const bin = requireBinary('promtool', 'prometheus');
  try {
    const { stdout, stderr } = await run(bin, args, { cwd: PROM_DIR, timeout: 60_000 });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

describe('deploy/prometheus (promtool)', () => {
  it('promtool check config accepts prometheus.yml and its rule files', async () => {
    const out = await promtool('check', 'config', 'prometheus.yml');
    expect(out).toContain('SUCCESS');
  });

  it('promtool check rules accepts the recording and alert rules', async () => {
    const out = await promtool('check', 'rules', 'rules/recording.yml', 'rules/alerts.yml');
    expect(out).not.toMatch(/FAILED/);
  });

  it('promtool test rules passes (every alert firing and not firing)', async () => {
    const out = await promtool('test', 'rules', 'tests/alerts.test.yml');
    expect(out).toContain('SUCCESS');
  });

  it('every alert has severity, summary, description and runbook, and is in the README', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const rules = alertRules();
    expect(rules.length).toBeGreaterThanOrEqual(10);
    for (const rule of rules) {
      expect(rule.labels?.severity, rule.alert).toMatch(/^(warning|critical)$/);
      for (const key of ['summary', 'description', 'runbook'])
        expect(rule.annotations?.[key]?.length ?? 0, `${rule.alert} ${key}`).toBeGreaterThan(10);
      expect(readme.includes(`#### ${rule.alert}`), `README has a runbook for ${rule.alert}`).toBe(true);
    }
  });

  it('the unit tests cover every alert both firing and not firing', () => {
    const doc = parse(readFileSync(join(PROM_DIR, 'tests', 'alerts.test.yml'), 'utf8')) as {
      tests: RuleTest[];
    };
    const cases = doc.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const { alert } of alertRules()) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${alert} has a firing test`,
      ).toBe(true);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${alert} has a not-firing test`,
      ).toBe(true);
    }
  });
});
