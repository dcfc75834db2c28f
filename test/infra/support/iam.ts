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
  /** The role's ARN in the imagined deployment (cfn-eval.ts). */
  arn: string;
  trust: Statement[];
  statements: Statement[];
  managedPolicyArns: unknown[];
  /** ARN of its permissions boundary, if it has one. */
  boundaryArn?: string;
}

/** A managed policy that is attached to no role of its template (a permissions boundary, say). */
export interface StandalonePolicy {
  logicalId: string;
  arn: string;
  statements: Statement[];
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
      arn: ev.physical(id).attrs.Arn!,
      trust: statementsOf(props.AssumeRolePolicyDocument, `${id}/trust`),
      statements,
      managedPolicyArns: (props.ManagedPolicyArns as unknown[] | undefined) ?? [],
      ...(props.PermissionsBoundary === undefined ? {} : { boundaryArn: String(props.PermissionsBoundary) }),
    });
  }
  for (const [id, res] of resources) {
    if (res.Type === 'AWS::IAM::Policy' || res.Type === 'AWS::IAM::ManagedPolicy') {
      if (isStandalone(res.Type, res.Properties)) continue;
      const attached = (res.Properties?.Roles as { Ref: string }[] | undefined) ?? [];
      if (attached.length === 0 || attached.some((r) => typeof r?.Ref !== 'string' || !roles.has(r.Ref)))
        throw new Error(`${id}: attach policies to roles of the same template by Ref, so tests can see them`);
      const doc = ev.eval(res.Properties!.PolicyDocument);
      for (const { Ref } of attached) roles.get(Ref)!.statements.push(...statementsOf(doc, id));
    }
  }
  return roles;
}

function isStandalone(type: string, props: Record<string, unknown> | undefined): boolean {
  return (
    type === 'AWS::IAM::ManagedPolicy' &&
    props?.Roles === undefined &&
    props?.Users === undefined &&
    props?.Groups === undefined
  );
}

/** Managed policies of the template attached to nothing there: boundaries, referenced by ARN. */
export function standalonePoliciesOf(ev: Evaluator): Map<string, StandalonePolicy> {
  const out = new Map<string, StandalonePolicy>();
  for (const [id, res] of Object.entries(ev.template.Resources)) {
    if (!isStandalone(res.Type, res.Properties)) continue;
    const arn = ev.physical(id).ref;
    out.set(arn, {
      logicalId: id,
      arn,
      statements: statementsOf(ev.eval(res.Properties!.PolicyDocument), id),
    });
  }
  return out;
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

/**
 * A request's condition context for `evaluate`: the keys a test knows, with their values, `null` for a key
 * the request does not carry. Keys not listed are unknown (see `evaluate`).
 */
export type ConditionContext = Record<string, string | null>;

const NEGATED = /^(StringNot|ArnNot)/;

/**
 * Whether one condition operator block holds, or `undefined` when it names a key the context does not
 * know. IAM's rules: every key of a block must match (AND), any listed value of a key may (OR); a negated
 * operator holds when the request lacks the key. `...IfExists` holds when the key is missing.
 */
function blockHolds(
  operator: string,
  block: Record<string, unknown>,
  ctx: ConditionContext,
): boolean | undefined {
  const ifExists = operator.endsWith('IfExists');
  const op = ifExists ? operator.slice(0, -'IfExists'.length) : operator;
  let known = true;
  for (const [key, raw] of Object.entries(block)) {
    if (!(key in ctx)) {
      known = false;
      continue;
    }
    const value = ctx[key] ?? null;
    const wanted = list(raw);
    if (value === null) {
      if (ifExists || NEGATED.test(op)) continue;
      return false;
    }
    let holds: boolean;
    switch (op) {
      case 'StringEquals':
      case 'ArnEquals':
        holds = wanted.includes(value);
        break;
      case 'StringNotEquals':
      case 'ArnNotEquals':
        holds = !wanted.includes(value);
        break;
      case 'StringLike':
      case 'ArnLike':
        holds = wanted.some((w) => wildcardMatch(w, value));
        break;
      case 'StringNotLike':
      case 'ArnNotLike':
        holds = !wanted.some((w) => wildcardMatch(w, value));
        break;
      case 'StringEqualsIgnoreCase':
        holds = wanted.some((w) => w.toLowerCase() === value.toLowerCase());
        break;
      case 'Bool':
        holds = wanted.includes(value);
        break;
      default:
        throw new Error(`condition operator ${operator} is not supported by the test evaluator`);
    }
    if (!holds) return false;
  }
  return known ? true : undefined;
}

/** true/false when decidable from the context; undefined when it depends on keys the context does not know. */
export function conditionHolds(
  condition: Record<string, unknown> | undefined,
  ctx: ConditionContext,
): boolean | undefined {
  if (!condition) return true;
  let unknown = false;
  for (const [operator, block] of Object.entries(condition)) {
    const holds = blockHolds(operator, block as Record<string, unknown>, ctx);
    if (holds === false) return false;
    if (holds === undefined) unknown = true;
  }
  return unknown ? undefined : true;
}

/**
 * IAM's decision for one request, with conditions evaluated against `ctx`. A condition on a key the
 * context does not know is resolved towards "allowed": such an Allow applies, such a Deny does not. So a
 * request this calls denied is denied whatever the unknown keys are (the right lean for "can it escalate").
 */
export function evaluate(
  statements: Statement[],
  action: string,
  resource: string,
  ctx: ConditionContext = {},
): boolean {
  const applies = (s: Statement) => matches(s, action, resource);
  if (statements.some((s) => s.Effect === 'Deny' && applies(s) && conditionHolds(s.Condition, ctx) === true))
    return false;
  return statements.some(
    (s) => s.Effect === 'Allow' && applies(s) && conditionHolds(s.Condition, ctx) !== false,
  );
}

/** The statements of a role that allow `action` on `resource` in `ctx` (for messages). */
export function grantingStatements(
  statements: Statement[],
  action: string,
  resource: string,
  ctx: ConditionContext = {},
): Statement[] {
  return statements.filter(
    (s) => s.Effect === 'Allow' && matches(s, action, resource) && conditionHolds(s.Condition, ctx) !== false,
  );
}
