/**
 * A small interpreter for the subset of Amazon States Language (JSONPath flavour) the remediation
 * state machine uses: Pass, Task, Choice, Succeed, Fail; Parameters / ResultSelector / ResultPath /
 * OutputPath; Retry; `States.MathAdd` and `States.ArrayLength`. A missing path raises
 * States.Runtime, as Step Functions does. It runs the synthesized definition, so a wiring mistake
 * (wrong path, a loop that never ends, a guard that never fires) fails a test.
 */
export class AslError extends Error {
  constructor(
    public readonly error: string,
    message: string,
  ) {
    super(`${error}: ${message}`);
  }
}

type Json = unknown;
type State = Record<string, Json>;
export type TaskHandler = (resource: string, parameters: Json) => Json;

function getPath(path: string, input: Json, context: Json): Json {
  const [root, rest] = path.startsWith('$$') ? [context, path.slice(2)] : [input, path.slice(1)];
  if (rest === '') return root;
  let cur: Json = root;
  for (const key of rest.replace(/^\./, '').split('.')) {
    if (cur === null || typeof cur !== 'object' || !(key in (cur as object))) {
      throw new AslError('States.Runtime', `path ${path} not found`);
    }
    cur = (cur as Record<string, Json>)[key];
  }
  return cur;
}

function setPath(path: string | null | undefined, input: Json, result: Json): Json {
  if (path === undefined || path === '$') return result;
  if (path === null) return input;
  const keys = path.slice(2).split('.');
  const out = structuredClone(input) as Record<string, Json>;
  let cur = out;
  for (const k of keys.slice(0, -1)) cur = (cur[k] ??= {}) as Record<string, Json>;
  cur[keys[keys.length - 1]] = result;
  return out;
}

function intrinsic(expr: string, input: Json, context: Json): Json {
  const m = /^States\.(\w+)\((.*)\)$/.exec(expr);
  if (!m) return getPath(expr, input, context);
  const args = m[2].split(',').map((a) => a.trim()).map((a) => (a.startsWith('$') ? getPath(a, input, context) : JSON.parse(a)));
  switch (m[1]) {
    case 'MathAdd':
      return (args[0] as number) + (args[1] as number);
    case 'ArrayLength':
      if (!Array.isArray(args[0])) throw new AslError('States.Runtime', 'ArrayLength of a non-array');
      return args[0].length;
    default:
      throw new AslError('States.Runtime', `unsupported intrinsic ${m[1]}`);
  }
}

function template(tpl: Json, input: Json, context: Json): Json {
  if (tpl === null || typeof tpl !== 'object' || Array.isArray(tpl)) {
    throw new AslError('States.Runtime', `Parameters must be an object, got ${JSON.stringify(tpl)}`);
  }
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(tpl as Record<string, Json>)) {
    if (k.endsWith('.$')) out[k.slice(0, -2)] = intrinsic(v as string, input, context);
    else out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) ? template(v, input, context) : v;
  }
  return out;
}

function choose(state: State, input: Json): string {
  for (const rule of state.Choices as Array<Record<string, Json>>) {
    let hit: boolean;
    if ('IsPresent' in rule) {
      // The one rule that may name a missing path (ASL: "IsPresent").
      let present = true;
      try {
        getPath(rule.Variable as string, input, {});
      } catch {
        present = false;
      }
      if (present === rule.IsPresent) return rule.Next as string;
      continue;
    }
    const v = getPath(rule.Variable as string, input, {});
    if ('BooleanEquals' in rule) {
      if (typeof v !== 'boolean') throw new AslError('States.Runtime', `${String(rule.Variable)} is not a boolean`);
      hit = v === rule.BooleanEquals;
    } else if ('NumericGreaterThan' in rule) hit = typeof v === 'number' && v > (rule.NumericGreaterThan as number);
    else if ('NumericGreaterThanEquals' in rule) hit = typeof v === 'number' && v >= (rule.NumericGreaterThanEquals as number);
    else throw new AslError('States.Runtime', `unsupported choice rule ${JSON.stringify(rule)}`);
    if (hit) return rule.Next as string;
  }
  if (!state.Default) throw new AslError('States.NoChoiceMatched', 'no rule matched');
  return state.Default as string;
}

export interface AslRun {
  status: 'SUCCEEDED' | 'FAILED';
  output?: Json;
  error?: string;
  visited: string[];
}

/** Runs a definition to completion (bounded by maxTransitions). */
export function runAsl(definition: { StartAt: string; States: Record<string, State> }, input: Json, task: TaskHandler, context: Json = {}, maxTransitions = 10_000): AslRun {
  const visited: string[] = [];
  let name = definition.StartAt;
  let data = input;
  try {
    for (let i = 0; i < maxTransitions; i++) {
      const state = definition.States[name];
      if (!state) throw new AslError('States.Runtime', `no state ${name}`);
      visited.push(name);
      switch (state.Type) {
        case 'Pass': {
          const result = state.Parameters !== undefined ? template(state.Parameters, data, context) : data;
          data = setPath(state.ResultPath as string | undefined, data, result);
          break;
        }
        case 'Task': {
          const params = state.Parameters !== undefined ? template(state.Parameters, data, context) : data;
          let result: Json;
          for (let attempt = 0; ; attempt++) {
            try {
              result = task(state.Resource as string, params);
              break;
            } catch (e) {
              const err = e instanceof AslError ? e.error : 'States.TaskFailed';
              const retry = ((state.Retry ?? []) as Array<{ ErrorEquals: string[]; MaxAttempts?: number }>).find((r) => r.ErrorEquals.includes(err) || r.ErrorEquals.includes('States.ALL'));
              if (!retry || attempt >= (retry.MaxAttempts ?? 3)) throw e;
            }
          }
          if (state.ResultSelector !== undefined) result = template(state.ResultSelector, result, context);
          data = setPath(state.ResultPath as string | undefined, data, result);
          break;
        }
        case 'Choice':
          name = choose(state, data);
          continue;
        case 'Succeed':
          return { status: 'SUCCEEDED', output: state.OutputPath ? getPath(state.OutputPath as string, data, context) : data, visited };
        case 'Fail':
          return { status: 'FAILED', error: state.Error as string, visited };
        default:
          throw new AslError('States.Runtime', `unsupported state type ${String(state.Type)}`);
      }
      if (state.End) return { status: 'SUCCEEDED', output: data, visited };
      name = state.Next as string;
    }
    throw new AslError('States.Runtime', 'too many transitions');
  } catch (e) {
    if (e instanceof AslError) return { status: 'FAILED', error: e.error, visited };
    throw e;
  }
}
