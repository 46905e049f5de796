import './env';
import { SimAccount } from './sim/account';
import { benchCheck } from './drive';
const log: [number, string][] = [];
const orig = (SimAccount.prototype as any).call;
let t0 = -1;
(SimAccount.prototype as any).call = function (this: any, service: any, name: string, input: any, action: any) {
  if (t0 < 0) t0 = this.clock.now();
  log.push([(this.clock.now() - t0) / 1000, name]);
  return orig.call(this, service, name, input, action);
};
(async () => {
  const n = Number(process.argv[2] ?? 10000);
  const { measure } = await benchCheck(n);
  console.log('seconds', (measure as any).simulatedSeconds, 'throttled', JSON.stringify((measure as any).throttled));
  const bins = new Map<number, Record<string, number>>();
  for (const [t, a] of log) { const b = Math.floor(t); const r = bins.get(b) ?? {}; r[a] = (r[a] ?? 0) + 1; bins.set(b, r); }
  for (const [b, r] of [...bins].sort((x, y) => x[0] - y[0])) console.log(b, JSON.stringify(r));
})();
