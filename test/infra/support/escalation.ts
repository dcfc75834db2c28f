import {
  evaluate,
  grantingStatements,
  type ConditionContext,
  type Role,
  type StandalonePolicy,
  type Statement,
} from './iam.ts';

/**
 * Answers, for every role of the templates, "can this role grant itself or another principal more than
 * it has?". It does not trust names: it evaluates each role's policies (and its permissions boundary, if
 * any) against concrete ARNs — every role and boundary the templates define, the same roles of another
 * stage whose name starts like this one, the deploy roles, and instances of the role's own wildcards —
 * with the request's `iam:PermissionsBoundary` set to "missing" and to a foreign policy.
 *
 * A role can escalate when it is allowed
 *  - CreateRole, PutRolePolicy, AttachRolePolicy, PutRolePermissionsBoundary, DeleteRolePolicy or
 *    DetachRolePolicy on any role without the boundary condition holding (these are the actions IAM
 *    offers the `iam:PermissionsBoundary` key for, so the condition is the only fence);
 *  - UpdateAssumeRolePolicy or PassRole on a role that is not fenced (below);
 *  - DeleteRolePermissionsBoundary, CreatePolicyVersion, SetDefaultPolicyVersion, DeletePolicyVersion or any
 *    write to IAM users and groups, on anything.
 *
 * A role is fenced when whatever a principal can get from it is already known and cannot grow:
 *  - bounded: it lies where the templates create roles only with a boundary, nobody in the model can
 *    create it without one, remove or swap its boundary, the template that defines it sets that boundary,
 *    and the boundary itself grants none of the actions above; or
 *  - fixed: the templates define it, nobody in the model can change its policies, trust or boundary, and
 *    it cannot escalate itself (so passing it hands over exactly its own, known permissions).
 *
 * Assumption, stated in docs/operations.md: nothing outside these templates creates roles in a stage's
 * role namespace.
 */

/** Actions for which IAM evaluates `iam:PermissionsBoundary` (the boundary the role has or will have). */
export const BOUNDARY_KEYED = [
  'iam:CreateRole',
  'iam:PutRolePolicy',
  'iam:AttachRolePolicy',
  'iam:PutRolePermissionsBoundary',
  'iam:DeleteRolePolicy',
  'iam:DetachRolePolicy',
];
/** Role actions with no boundary key: safe only on a fenced role. */
export const ROLE_TARGETED = ['iam:UpdateAssumeRolePolicy', 'iam:PassRole'];
/** Never safe on anything. */
export const ALWAYS_ESCALATING = [
  'iam:DeleteRolePermissionsBoundary',
  'iam:CreatePolicyVersion',
  'iam:SetDefaultPolicyVersion',
  'iam:DeletePolicyVersion',
  'iam:CreateUser',
  'iam:PutUserPolicy',
  'iam:AttachUserPolicy',
  'iam:PutUserPermissionsBoundary',
  'iam:DeleteUserPermissionsBoundary',
  'iam:CreateAccessKey',
  'iam:CreateLoginProfile',
  'iam:UpdateLoginProfile',
  'iam:AddUserToGroup',
  'iam:PutGroupPolicy',
  'iam:AttachGroupPolicy',
];
export const ESCALATION_ACTIONS = [...BOUNDARY_KEYED, ...ROLE_TARGETED, ...ALWAYS_ESCALATING];

const MUTATIONS = [...BOUNDARY_KEYED.filter((a) => a !== 'iam:CreateRole'), 'iam:UpdateAssumeRolePolicy'];

export interface Finding {
  role: string;
  action: string;
  resource: string;
  why: string;
  /** Statements that grant it ("<RoleLogicalId>/<policy>/<Sid>"). */
  via: string[];
}

export interface Model {
  roles: Role[];
  /** Standalone managed policies by ARN (the permissions boundaries). */
  policies: Map<string, StandalonePolicy>;
  /** More ARNs to try: another stage's roles, a role nobody defines, … */
  probes: string[];
  account: string;
}

export class EscalationAnalysis {
  private readonly model: Model;
  private readonly findingsCache = new Map<string, Finding[]>();
  private readonly inProgress = new Set<string>();

  constructor(model: Model) {
    this.model = model;
  }

  private get badContexts(): ConditionContext[] {
    return [
      { 'iam:PermissionsBoundary': null },
      { 'iam:PermissionsBoundary': `arn:aws:iam::${this.model.account}:policy/escalate` },
    ];
  }

  private goodContexts(): ConditionContext[] {
    return [...this.model.policies.keys()].map((arn) => ({ 'iam:PermissionsBoundary': arn }));
  }

  private boundaryOf(role: Role): Statement[] | undefined {
    return role.boundaryArn === undefined ? undefined : this.model.policies.get(role.boundaryArn)?.statements;
  }

  /** Identity policy AND boundary (when the role has one the model knows). */
  allowed(role: Role, action: string, resource: string, ctx: ConditionContext = {}): boolean {
    if (!evaluate(role.statements, action, resource, ctx)) return false;
    const boundary = this.boundaryOf(role);
    return boundary === undefined || evaluate(boundary, action, resource, ctx);
  }

  private anyone(action: string, resource: string, contexts: ConditionContext[]): boolean {
    return this.model.roles.some((r) => contexts.some((ctx) => this.allowed(r, action, resource, ctx)));
  }

  /** ARNs to try for `action` on behalf of `role`. */
  private probesFor(role: Role, action: string): string[] {
    const own = role.statements
      .filter((s) => s.Effect === 'Allow' && s.Action.some((a) => a.toLowerCase() === action.toLowerCase()))
      .flatMap((s) => s.Resource)
      .map((r) => (r === '*' ? 'anything' : r.replace(/\*/g, 'x').replace(/\?/g, 'x')));
    return [
      ...new Set([
        ...this.model.roles.map((r) => r.arn),
        ...this.model.policies.keys(),
        ...this.model.probes,
        ...own,
        role.arn,
      ]),
    ];
  }

  /** A boundary is safe when it grants none of the escalation actions on any probe. */
  boundaryIsSafe(arn: string): boolean {
    const policy = this.model.policies.get(arn);
    if (!policy) return false;
    const probes = [
      ...this.model.roles.map((r) => r.arn),
      ...this.model.policies.keys(),
      ...this.model.probes,
    ];
    return ESCALATION_ACTIONS.every((a) =>
      [...probes, 'anything'].every((c) =>
        [...this.badContexts, ...this.goodContexts(), {}].every(
          (ctx) => !evaluate(policy.statements, a, c, ctx),
        ),
      ),
    );
  }

  /** Why `arn` is fenced, or undefined when it is not. */
  fence(arn: string): string | undefined {
    const good = this.goodContexts();
    const boundaryInNamespace = this.model.roles.some((r) =>
      good.some((ctx) => this.allowed(r, 'iam:CreateRole', arn, ctx)),
    );
    const defined = this.model.roles.find((r) => r.arn === arn);
    const strippable =
      this.anyone('iam:DeleteRolePermissionsBoundary', arn, [{}]) ||
      this.anyone('iam:PutRolePermissionsBoundary', arn, this.badContexts);
    if (
      boundaryInNamespace &&
      !this.anyone('iam:CreateRole', arn, this.badContexts) &&
      !strippable &&
      (defined === undefined ||
        (defined.boundaryArn !== undefined && this.model.policies.has(defined.boundaryArn))) &&
      [...this.model.policies.keys()].every((b) => this.boundaryIsSafe(b))
    )
      return 'bounded';
    if (
      defined &&
      !MUTATIONS.some((m) => this.anyone(m, arn, [...this.badContexts, ...good, {}])) &&
      !this.anyone('iam:DeleteRolePermissionsBoundary', arn, [{}]) &&
      this.findings(defined).length === 0
    )
      return 'fixed';
    return undefined;
  }

  /** Every way `role` can grant itself or another principal more than it has; empty when none. */
  findings(role: Role): Finding[] {
    const cached = this.findingsCache.get(role.logicalId);
    if (cached) return cached;
    // A cycle (A passes B, B passes A) is judged on the other edges: assume no finding while inside it.
    if (this.inProgress.has(role.logicalId)) return [];
    this.inProgress.add(role.logicalId);
    const out: Finding[] = [];
    const seen = new Set<string>();
    const add = (action: string, resource: string, why: string, ctx: ConditionContext) => {
      const key = `${action} ${resource}`;
      if (seen.has(key)) return;
      seen.add(key);
      const via = grantingStatements(role.statements, action, resource, ctx).map((s) => s.origin);
      out.push({ role: role.logicalId, action, resource, why, via });
    };
    try {
      for (const action of BOUNDARY_KEYED) {
        for (const c of this.probesFor(role, action)) {
          const ctx = this.badContexts.find((x) => this.allowed(role, action, c, x));
          if (ctx)
            add(
              action,
              c,
              `allowed with iam:PermissionsBoundary ${String(ctx['iam:PermissionsBoundary'])}`,
              ctx,
            );
        }
      }
      for (const action of ROLE_TARGETED) {
        for (const c of this.probesFor(role, action)) {
          if (this.allowed(role, action, c) && this.fence(c) === undefined)
            add(action, c, 'on a role whose permissions are neither bounded nor fixed', {});
        }
      }
      for (const action of ALWAYS_ESCALATING) {
        for (const c of this.probesFor(role, action)) {
          const ctx = [{}, ...this.badContexts, ...this.goodContexts()].find((x) =>
            this.allowed(role, action, c, x),
          );
          if (ctx) add(action, c, 'never safe', ctx);
        }
      }
    } finally {
      this.inProgress.delete(role.logicalId);
    }
    this.findingsCache.set(role.logicalId, out);
    return out;
  }
}

export function formatFindings(findings: Finding[]): string {
  return findings
    .map((f) => `${f.role}: ${f.action} on ${f.resource} (${f.why}; via ${f.via.join(', ')})`)
    .join('\n');
}
