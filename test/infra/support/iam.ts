import type { Evaluator } from './cfn-eval.ts';

/** One IAM policy statement after evaluation: every list normalised to an array of strings. */
export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string[];
  NotAction: string[];
  Resource: string[];
  NotResource: string[];
  Condition?: Record<string, unknown>;
  Principal?: { Service?: string | string[]; Federated?: string; AWS?: string | string[] } | '*';
  /** Where it came from, for messages: "<RoleLogicalId>/<policy name>/<Sid>". */
  origin: string;
}

export interface Role {
  logicalId: string;
  trust: Statement[];
  statements: Statement[];
  managedPolicyArns: unknown[];
}

const list = (v: unknown): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];

export function statementsOf(doc: unknown, origin: string): Statement[] {
  const raw = (doc as { Statement: unknown }).Statement;
  return (Array.isArray(raw) ? raw : [raw]).map((s: Record<string, unknown>) => ({
    Sid: s.Sid as string | undefined,
    Effect: s.Effect as 'Allow' | 'Deny',
    Action: list(s.Action),
    NotAction: list(s.NotAction),
    Resource: list(s.Resource),
    NotResource: list(s.NotResource),
    Condition: s.Condition as Record<string, unknown> | undefined,
    Principal: s.Principal as Statement['Principal'],
    origin: `${origin}/${(s.Sid as string | undefined) ?? '?'}`,
  }));
}

/**
 * Every role of the template with everything that grants it permissions: inline policies and the
 * template's managed policies attached to it. Managed policies from outside (ManagedPolicyArns) are
 * returned as is, so a test can insist there are none.
 */
export function rolesOf(ev: Evaluator): Map<string, Role> {
  const roles = new Map<string, Role>();
  const resources = Object.entries(ev.template.Resources);
  for (const [id, res] of resources) {
    if (res.Type !== 'AWS::IAM::Role') continue;
    const props = ev.eval(res.Properties ?? {}) as Record<string, unknown>;
    const statements = (
      (props.Policies as { PolicyName: string; PolicyDocument: unknown }[] | undefined) ?? []
    ).flatMap((p) => statementsOf(p.PolicyDocument, `${id}/${p.PolicyName}`));
    roles.set(id, {
      logicalId: id,
      trust: statementsOf(props.AssumeRolePolicyDocument, `${id}/trust`),
      statements,
      managedPolicyArns: (props.ManagedPolicyArns as unknown[] | undefined) ?? [],
    });
  }
  for (const [id, res] of resources) {
    if (res.Type === 'AWS::IAM::Policy' || res.Type === 'AWS::IAM::ManagedPolicy') {
      const attached = (res.Properties?.Roles as { Ref: string }[] | undefined) ?? [];
      if (attached.length === 0 || attached.some((r) => typeof r?.Ref !== 'string' || !roles.has(r.Ref)))
        throw new Error(`${id}: attach policies to roles of the same template by Ref, so tests can see them`);
      const doc = ev.eval(res.Properties!.PolicyDocument);
      for (const { Ref } of attached) roles.get(Ref)!.statements.push(...statementsOf(doc, id));
    }
  }
  return roles;
}

/** IAM's wildcard match: `*` any run of characters, `?` one character. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}

function matches(s: Statement, action: string, resource: string): boolean {
  const actionOk =
    s.Action.length > 0
      ? s.Action.some((a) => wildcardMatch(a, action, true))
      : !s.NotAction.some((a) => wildcardMatch(a, action, true));
  const resourceOk =
    s.Resource.length > 0
      ? s.Resource.some((r) => wildcardMatch(r, resource))
      : !s.NotResource.some((r) => wildcardMatch(r, resource));
  return actionOk && resourceOk;
}

/**
 * Whether the statements allow `action` on `resource`, leaning towards "allowed" when in doubt: a
 * conditional Allow counts as granted, a conditional Deny as not applying. So "lacks" assertions hold
 * whatever the request's context.
 */
export function isAllowed(statements: Statement[], action: string, resource: string): boolean {
  const applies = (s: Statement) => matches(s, action, resource);
  if (statements.some((s) => s.Effect === 'Deny' && !s.Condition && applies(s))) return false;
  return statements.some((s) => s.Effect === 'Allow' && applies(s));
}
