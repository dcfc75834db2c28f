import { readFile } from 'node:fs/promises';
import YAML from 'yaml';

/** A CloudFormation template as data, short-form tags (!Ref, !Sub, …) turned into their long form. */
export interface CfnTemplate {
  Parameters?: Record<string, { Type: string; Default?: string | number }>;
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown }>;
}

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
}

const FUNCTIONS = ['Ref', 'Sub', 'GetAtt', 'Join', 'Select', 'Split', 'If', 'Equals', 'Not', 'And', 'Or'];

/** YAML custom tags for CloudFormation's short forms, each producing the long form object. */
const customTags: YAML.Tags = FUNCTIONS.flatMap((fn) => {
  const key = fn === 'Ref' ? 'Ref' : `Fn::${fn}`;
  const make = (value: unknown) => {
    // !GetAtt A.B is the short form of [A, B].
    if (fn === 'GetAtt' && typeof value === 'string') {
      const dot = value.indexOf('.');
      return { [key]: [value.slice(0, dot), value.slice(dot + 1)] };
    }
    return { [key]: value };
  };
  return [
    { tag: `!${fn}`, resolve: (str: string) => make(str) },
    { tag: `!${fn}`, collection: 'seq' as const, resolve: (seq: YAML.YAMLSeq) => make(seq.toJSON()) },
    { tag: `!${fn}`, collection: 'map' as const, resolve: (map: YAML.YAMLMap) => make(map.toJSON()) },
  ] as YAML.Tags;
});

export function parseTemplate(text: string): CfnTemplate {
  const doc = YAML.parse(text, { customTags }) as CfnTemplate;
  if (!doc || typeof doc !== 'object' || !doc.Resources) throw new Error('not a CloudFormation template');
  return doc;
}

export async function loadTemplate(path: string): Promise<{ text: string; template: CfnTemplate }> {
  const text = await readFile(path, 'utf8');
  return { text, template: parseTemplate(text) };
}

export class UnsupportedIntrinsicError extends Error {
  override readonly name = 'UnsupportedIntrinsicError';
}

/** What the resolver needs to know about a deployed stack. */
export interface ResolveContext {
  parameters: Record<string, string>;
  pseudo: { accountId: string; region: string; partition: string; stackName: string };
  /** Physical id of a resource (bucket name, queue URL, …). */
  physicalId(logicalId: string): string;
  /** Attribute of a resource (Arn, QueueName, …). */
  attribute(logicalId: string, attr: string): Promise<string>;
}

/**
 * Evaluates the intrinsic functions this project's templates use. Anything else throws: a local
 * provisioning that guessed would drift silently from production.
 */
export async function resolveValue(value: unknown, ctx: ResolveContext): Promise<unknown> {
  if (Array.isArray(value)) return Promise.all(value.map((v) => resolveValue(v, ctx)));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 1) {
    const [[key, arg]] = entries as [[string, unknown]];
    if (key === 'Ref') return resolveRef(String(arg), ctx);
    if (key === 'Fn::GetAtt') {
      const [res, attr] = arg as [string, string];
      return ctx.attribute(res, attr);
    }
    if (key === 'Fn::Sub') return resolveSub(arg, ctx);
    if (key === 'Fn::Join') {
      const [sep, parts] = arg as [string, unknown[]];
      const resolved = (await resolveValue(parts, ctx)) as unknown[];
      return resolved.map(String).join(sep);
    }
    if (key.startsWith('Fn::'))
      throw new UnsupportedIntrinsicError(`${key} is not supported by local provisioning`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) out[k] = await resolveValue(v, ctx);
  return out;
}

function resolveRef(name: string, ctx: ResolveContext): string {
  switch (name) {
    case 'AWS::AccountId':
      return ctx.pseudo.accountId;
    case 'AWS::Region':
      return ctx.pseudo.region;
    case 'AWS::Partition':
      return ctx.pseudo.partition;
    case 'AWS::StackName':
      return ctx.pseudo.stackName;
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
  }
  if (name in ctx.parameters) return ctx.parameters[name]!;
  return ctx.physicalId(name);
}

async function resolveSub(arg: unknown, ctx: ResolveContext): Promise<string> {
  const [template, vars] = Array.isArray(arg)
    ? (arg as [string, Record<string, unknown>])
    : [String(arg), {}];
  const local: Record<string, string> = {};
  for (const [k, v] of Object.entries(vars)) local[k] = String(await resolveValue(v, ctx));
  const parts: string[] = [];
  let last = 0;
  for (const m of template.matchAll(/\$\{([^}!]+)\}/g)) {
    parts.push(template.slice(last, m.index));
    const name = m[1]!;
    if (name in local) parts.push(local[name]!);
    else if (name.includes('.') && !name.startsWith('AWS::')) {
      const dot = name.indexOf('.');
      parts.push(await ctx.attribute(name.slice(0, dot), name.slice(dot + 1)));
    } else parts.push(resolveRef(name, ctx));
    last = m.index + m[0].length;
  }
  parts.push(template.slice(last));
  return parts.join('');
}
