import {
  type AccountMetadataDefaults,
  accountDefaultsMetricValues,
  changeApplied,
  countContainerHosts,
  decideDefaultsChange,
  type DefaultsDecisionInput,
  evaluateMetadataDefaults,
  type MetadataDefaultsReading,
} from '../../lambda/core/fleet/metadata-defaults';

const read = (d: Partial<AccountMetadataDefaults> = {}): MetadataDefaultsReading => ({ status: 'read', defaults: { managedBy: 'account', ...d } });
const unknown: MetadataDefaultsReading = { status: 'unknown', error: 'UnauthorizedOperation: no' };
const codes = (r: ReturnType<typeof evaluateMetadataDefaults>): string[] => r.findings.map((f) => f.code);

describe('evaluateMetadataDefaults', () => {
  it.each`
    defaults                                       | containerHosts | expected
    ${{}}                                          | ${3}           | ${['account-default-hop-limit-too-low', 'account-default-tokens-optional']}
    ${{ hopLimit: 1, httpTokens: 'required' }}     | ${1}           | ${['account-default-hop-limit-too-low']}
    ${{ hopLimit: 2, httpTokens: 'required' }}     | ${1}           | ${[]}
    ${{ hopLimit: 3, httpTokens: 'required' }}     | ${1}           | ${[]}
    ${{ httpTokens: 'required' }}                  | ${0}           | ${[]}
    ${{ hopLimit: 1, httpTokens: 'optional' }}     | ${0}           | ${['account-default-tokens-optional']}
  `('defaults $defaults with $containerHosts container hosts → $expected', ({ defaults, containerHosts, expected }) => {
    const r = evaluateMetadataDefaults(read(defaults), containerHosts, 2);
    expect(codes(r)).toEqual(expected);
    expect(r.status).toBe(expected.length > 0 ? 'at-risk' : 'ok');
  });

  it('says new launches get hop limit 1 when there is no default (the AMI / EC2 decides)', () => {
    expect(evaluateMetadataDefaults(read(), 1, 2)).toMatchObject({ newLaunchHopLimit: 1, managedBy: 'account' });
  });

  it('reports who manages the defaults and the policy exception message', () => {
    const r = evaluateMetadataDefaults(read({ managedBy: 'declarative-policy', managedExceptionMessage: 'Ask the cloud team', hopLimit: 1 }), 2, 2);
    expect(r).toMatchObject({ managedBy: 'declarative-policy', managedExceptionMessage: 'Ask the cloud team' });
    expect(codes(r)).toContain('account-default-hop-limit-too-low');
  });

  it('turns an unreadable read into status unknown with its own finding, and no zero finding count', () => {
    const r = evaluateMetadataDefaults(unknown, 5, 2);
    expect(r).toMatchObject({ status: 'unknown', detail: 'UnauthorizedOperation: no' });
    expect(codes(r)).toEqual(['account-defaults-unknown']);
    expect(accountDefaultsMetricValues(r)).toEqual({ unknown: 1 });
    expect(accountDefaultsMetricValues(evaluateMetadataDefaults(read(), 5, 2))).toEqual({ findings: 2, unknown: 0 });
  });

  it('counts only guests that reported containers', () => {
    expect(countContainerHosts([{ verdict: { containers: true } as never }, { verdict: { containers: false } as never }, { verdict: { containers: null } as never }, {}])).toBe(1);
  });
});

describe('decideDefaultsChange', () => {
  const base: DefaultsDecisionInput = { mode: 'set', hopLimitTarget: 2, containerHosts: 4 };
  const ready = { enforcementOn: true, fleetReadyForTokensRequired: true };

  it.each`
    name                                                    | reading                                             | input                                              | expected
    ${'report mode never writes'}                           | ${read()}                                           | ${{ mode: 'report' }}                              | ${{ kind: 'none', reason: 'report-mode' }}
    ${'raises an unset hop default on a container fleet'}   | ${read()}                                           | ${{}}                                              | ${{ kind: 'change', change: { hopLimit: 2 } }}
    ${'raises hop 1 to the target'}                         | ${read({ hopLimit: 1 })}                            | ${{ hopLimit: 4, hopLimitTarget: 4 }}              | ${{ kind: 'change', change: { hopLimit: 4 } }}
    ${'never lowers a higher default'}                      | ${read({ hopLimit: 8 })}                            | ${{}}                                              | ${{ kind: 'none', reason: 'already-compliant' }}
    ${'leaves hop 1 alone without container hosts'}         | ${read({ hopLimit: 1 })}                            | ${{ containerHosts: 0 }}                           | ${{ kind: 'none', reason: 'no-container-hosts' }}
    ${'no tokens without the gate'}                         | ${read({ hopLimit: 2, httpTokens: 'optional' })}    | ${{}}                                              | ${{ kind: 'none', reason: 'already-compliant' }}
    ${'no tokens when enforcement is on but not ready'}     | ${read({ hopLimit: 2 })}                            | ${{ gate: { enforcementOn: true, fleetReadyForTokensRequired: false } }} | ${{ kind: 'none' }}
    ${'no tokens when ready but enforcement is off'}        | ${read({ hopLimit: 2 })}                            | ${{ gate: { fleetReadyForTokensRequired: true } }} | ${{ kind: 'none' }}
    ${'tokens required when enforcing and ready'}           | ${read({ hopLimit: 2, httpTokens: 'optional' })}    | ${{ gate: ready }}                                 | ${{ kind: 'change', change: { httpTokens: 'required' } }}
    ${'both in one call'}                                   | ${read()}                                           | ${{ gate: ready }}                                 | ${{ kind: 'change', change: { hopLimit: 2, httpTokens: 'required' } }}
    ${'nothing when tokens are already required'}           | ${read({ hopLimit: 2, httpTokens: 'required' })}    | ${{ gate: ready }}                                 | ${{ kind: 'none', reason: 'already-compliant' }}
    ${'never acts on what it could not read'}               | ${unknown}                                          | ${{ gate: ready }}                                 | ${{ kind: 'unknown', error: 'UnauthorizedOperation: no' }}
  `('$name', ({ reading, input, expected }) => {
    const d = decideDefaultsChange(reading, { ...base, ...input });
    expect(d).toMatchObject(expected);
    if (d.kind === 'change') expect(d.change).toEqual(expected.change);
  });

  it('never writes defaults a declarative policy manages, and carries its message', () => {
    const d = decideDefaultsChange(read({ managedBy: 'declarative-policy', managedExceptionMessage: 'Managed by org policy P-1' }), { ...base, gate: ready });
    expect(d).toEqual({ kind: 'managed-by-policy', reason: 'managed-by-declarative-policy', message: 'Managed by org policy P-1' });
  });
});

describe('changeApplied', () => {
  it.each`
    change                                      | after                                             | expected
    ${{ hopLimit: 2 }}                          | ${read({ hopLimit: 2 })}                          | ${true}
    ${{ hopLimit: 2 }}                          | ${read({ hopLimit: 3 })}                          | ${true}
    ${{ hopLimit: 2 }}                          | ${read({ hopLimit: 1 })}                          | ${false}
    ${{ hopLimit: 2 }}                          | ${read()}                                         | ${false}
    ${{ hopLimit: 2, httpTokens: 'required' }}  | ${read({ hopLimit: 2, httpTokens: 'optional' })}  | ${false}
    ${{ httpTokens: 'required' }}               | ${read({ httpTokens: 'required' })}               | ${true}
    ${{ hopLimit: 2 }}                          | ${unknown}                                        | ${false}
  `('$change read back as $after → $expected', ({ change, after, expected }) => {
    expect(changeApplied(change, after)).toBe(expected);
  });
});
