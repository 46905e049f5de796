/**
 * The IMDS phase's items in the continuation: one list (`actions.imds`) in two stages, read from
 * the previous format's `q` and `w` lists too, and only ever integers where the format has numbers.
 * (`HttpTokens` stands for a further row: the codec takes any parameter the table acts on.)
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { VirtualClock } from '../../../lambda/aws/clock';
import { ContinuationError, decodeContinuation, encodeContinuation, signContinuationPayload } from '../../../lambda/engine/remediation/continuation';
import { IMDS_PHASE, type ImdsPhaseItem, imdsStages } from '../../../lambda/engine/remediation/imds-phase';
import type { ActionPhase } from '../../../lambda/engine/remediation/phase';
import { RUN_PHASES } from '../../../lambda/engine/remediation/phases';
import { newRunState, type RunState } from '../../../lambda/engine/remediation/state';
import { id } from './support';

const KEY = Buffer.from('imds-continuation-test-key-0123456789abcdef');
const CODECS = [IMDS_PHASE as unknown as ActionPhase];

function stateWith(clock: VirtualClock, imds: ImdsPhaseItem[]): RunState {
  return { ...newRunState({ runId: 'r', startedAt: clock.now(), dryRun: false, fleetSize: 3, cap: 3, plannedInstances: 3 }), actions: { imds } };
}

/** The payload's JSON, edited by `edit`, signed again with the stack's key (what only a bug could write). */
function resigned(text: string, edit: (json: Record<string, unknown>) => void): string {
  const json = JSON.parse(gunzipSync(Buffer.from(text.split('.')[0]!, 'base64')).toString()) as Record<string, unknown>;
  edit(json);
  return signContinuationPayload(gzipSync(Buffer.from(JSON.stringify(json))).toString('base64'), KEY);
}

describe('the IMDS phase in the continuation', () => {
  it('carries both stages in one list, changes made first, and reads them back as they were', () => {
    const clock = new VirtualClock();
    const items: ImdsPhaseItem[] = [
      { id: id(3), hop: 2, endpoint: true, at: clock.now() - 1_000, seen: 2, opts: ['HttpTokens'] },
      { id: id(1), hop: 1, from: -1, endpoint: false },
      { id: id(2), hop: 0, from: 2, endpoint: true },
    ];
    const back = decodeContinuation(encodeContinuation(stateWith(clock, items), KEY, clock.now(), CODECS), KEY, clock.now(), CODECS);
    expect(back.actions?.imds).toEqual(items);
    expect(imdsStages(back)).toEqual({ pending: [items[1], items[2]], verifying: [items[0]] });
  });

  it('writes a change time with a fraction as whole milliseconds: no extra field, `seen` kept', () => {
    const clock = new VirtualClock();
    const text = encodeContinuation(stateWith(clock, [{ id: id(1), hop: 2, endpoint: false, at: 1_733_600_000_123.5, seen: 1 }]), KEY, clock.now(), CODECS);
    const json = JSON.parse(gunzipSync(Buffer.from(text.split('.')[0]!, 'base64')).toString()) as { x: { imds: string } };
    expect(json.x.imds).toBe('1.v.2.0.1733600000123.1');
    expect(decodeContinuation(text, KEY, clock.now(), CODECS).actions?.imds).toEqual([{ id: id(1), hop: 2, endpoint: false, at: 1_733_600_000_123, seen: 1 }]);
  });

  it.each([
    ['a split change time (its fraction a further field)', '1.v.2.0.1733600000123.5.0'],
    ['a change time that is not an integer', '1.v.2.0.1733600000123x.0'],
    ['an unknown stage', '1.z.1.1.0'],
    ['an endpoint flag that is neither 0 nor 1', '1.p.1.1.2'],
    ['a metadata option the table does not act on', '1.p.1.1.0.InstanceMetadataTags'],
  ])('refuses an item with %s (ContinuationError, never a guess)', (_what, list) => {
    const clock = new VirtualClock();
    const text = resigned(encodeContinuation(stateWith(clock, [{ id: id(1), hop: 1, from: 1, endpoint: false }]), KEY, clock.now(), CODECS), (json) => {
      (json['x'] as Record<string, string>)['imds'] = list;
    });
    expect(() => decodeContinuation(text, KEY, clock.now(), CODECS)).toThrow(ContinuationError);
  });

  describe('the previous format (lists `q` and `w`)', () => {
    /** A continuation as the previous encoder wrote it: `q` and `w` beside the rest, no `x.imds`. */
    function previous(clock: VirtualClock, q: string, w: string, ids: readonly string[]): string {
      return resigned(encodeContinuation(stateWith(clock, []), KEY, clock.now(), CODECS), (json) => {
        json['q'] = q;
        json['w'] = w;
        json['t'] = ids.map((i) => i.slice(2)).join(',');
      });
    }

    it('reads `w` (made) and `q` (to make) into the one list, changes made first', () => {
      const clock = new VirtualClock();
      const back = decodeContinuation(previous(clock, '1.1.1.0,1.1.-1.1.HttpTokens', '3.2.0.1733600000000.1', [id(0), id(1), id(2)]), KEY, clock.now(), RUN_PHASES);
      expect(back.actions?.imds).toEqual([
        { id: id(2), hop: 2, endpoint: false, at: 1_733_600_000_000, seen: 1 },
        { id: id(0), hop: 1, from: 1, endpoint: false },
        { id: id(1), hop: 1, from: -1, endpoint: true, opts: ['HttpTokens'] },
      ]);
    });

    it('puts back together a change time the previous encoder split at its fraction (it had shifted `seen`)', () => {
      const clock = new VirtualClock();
      const back = decodeContinuation(previous(clock, '', '1.2.0.1733600000123.5.1.HttpTokens', [id(0)]), KEY, clock.now(), RUN_PHASES);
      expect(back.actions?.imds).toEqual([{ id: id(0), hop: 2, endpoint: false, at: 1_733_600_000_123.5, seen: 1, opts: ['HttpTokens'] }]);
      // Written again, it is an integer.
      const again = decodeContinuation(encodeContinuation(back, KEY, clock.now(), RUN_PHASES), KEY, clock.now(), RUN_PHASES);
      expect(again.actions?.imds).toEqual([{ id: id(0), hop: 2, endpoint: false, at: 1_733_600_000_123, seen: 1, opts: ['HttpTokens'] }]);
    });

    it('refuses one whose lists no phase of this engine reads (never a silent drop), and one with both formats', () => {
      const clock = new VirtualClock();
      const old = previous(clock, '1.1.1.0', '', [id(0)]);
      expect(() => decodeContinuation(old, KEY, clock.now(), [])).toThrow(ContinuationError);
      const both = resigned(encodeContinuation(stateWith(clock, [{ id: id(0), hop: 1, from: 1, endpoint: false }]), KEY, clock.now(), CODECS), (json) => {
        json['q'] = '1.1.1.0';
      });
      expect(() => decodeContinuation(both, KEY, clock.now(), CODECS)).toThrow(ContinuationError);
    });
  });

  it('refuses to encode a list no codec carries: lost work is a bug, never silence', () => {
    const clock = new VirtualClock();
    expect(() => encodeContinuation(stateWith(clock, [{ id: id(0), hop: 1, from: 1, endpoint: false }]), KEY, clock.now())).toThrow(/no codec/);
  });
});
