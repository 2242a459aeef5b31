import { strict as assert } from 'node:assert';
import { CF, FLOW_SHARES, FlowTable, SCOPE_ALIAS, SCOPE_ENTRY, TCP_ESTABLISHED, TCP_SYN, key0, key3, scopeHop, setReserveLimitForTest } from '../src/vfp/flow-table';
import { Prng } from '../src/gen/prng';

/** Sets both directions of connection `c` to expire at `t`. */
function expireAt(ft: FlowTable, c: number, t: number): void {
  ft.setExpiresAt(2 * c, t);
  ft.setExpiresAt(2 * c + 1, t);
}

describe('vfp flow table (typed-array unified flow table)', () => {
  it('keys a connection\'s forward and reverse flows; f ^ 1 is the partner', () => {
    const ft = new FlowTable(16);
    const c = ft.allocConnection();
    assert.ok(ft.keyFlow(2 * c, key0(SCOPE_ENTRY, 6), 0x0af40105, 0xcb00710a, key3(40000, 80)));
    assert.ok(ft.keyFlow(2 * c + 1, key0(SCOPE_ENTRY, 6), 0xcb00710a, 0x0a7f820b, key3(80, 49216)));
    assert.equal(ft.lookup(key0(SCOPE_ENTRY, 6), 0x0af40105, 0xcb00710a, key3(40000, 80)), 2 * c);
    const rev = ft.lookup(key0(SCOPE_ENTRY, 6), 0xcb00710a, 0x0a7f820b, key3(80, 49216));
    assert.equal(rev, 2 * c + 1);
    assert.equal(rev ^ 1, 2 * c);
    // a different scope, protocol or port is another key
    assert.equal(ft.lookup(key0(scopeHop(0), 6), 0x0af40105, 0xcb00710a, key3(40000, 80)), -1);
    assert.equal(ft.lookup(key0(SCOPE_ENTRY, 17), 0x0af40105, 0xcb00710a, key3(40000, 80)), -1);
    assert.equal(ft.lookup(key0(SCOPE_ENTRY, 6), 0x0af40105, 0xcb00710a, key3(40001, 80)), -1);
  });

  it('refuses a second flow with a key that is already live, and keeps the first', () => {
    const ft = new FlowTable(16);
    const a = ft.allocConnection();
    const b = ft.allocConnection();
    assert.ok(ft.keyFlow(2 * a, 1, 2, 3, 4));
    assert.equal(ft.keyFlow(2 * b, 1, 2, 3, 4), false);
    assert.equal(ft.lookup(1, 2, 3, 4), 2 * a);
    // freeing b (never keyed) must not remove a's key
    ft.freeConnection(b);
    assert.equal(ft.lookup(1, 2, 3, 4), 2 * a);
  });

  it('adds the pod-view alias: the exact reverse of the forward tuple, mapped to the reverse flow', () => {
    const ft = new FlowTable(16);
    const c = ft.allocConnection();
    ft.keyFlow(2 * c, key0(SCOPE_ENTRY, 6), 10, 20, key3(1000, 80));
    assert.ok(ft.aliasKey(c));
    assert.equal(ft.lookup(key0(SCOPE_ALIAS, 6), 20, 10, key3(80, 1000)), 2 * c + 1);
    ft.freeConnection(c);
    assert.equal(ft.lookup(key0(SCOPE_ALIAS, 6), 20, 10, key3(80, 1000)), -1);
    assert.equal(ft.lookup(key0(SCOPE_ENTRY, 6), 10, 20, key3(1000, 80)), -1);
  });

  it('agrees with a Map under random inserts and deletes (backward-shift deletion keeps probe runs intact)', () => {
    const ft = new FlowTable(16);
    const ref = new Map<string, number>();
    const live: number[] = [];
    const prng = new Prng(7);
    const rnd = () => prng.float();
    for (let step = 0; step < 20000; step++) {
      if (live.length === 0 || rnd() < 0.6) {
        const c = ft.allocConnection();
        // few distinct values so that hashes collide and probe runs get long
        const k1 = Math.floor(rnd() * 50);
        const k2 = Math.floor(rnd() * 50);
        const ok = ft.keyFlow(2 * c, key0(SCOPE_ENTRY, 6), k1, k2, step);
        assert.ok(ok);
        ref.set(`${k1},${k2},${step}`, 2 * c);
        live.push(c);
      } else {
        const at = Math.floor(rnd() * live.length);
        const c = live[at];
        live.splice(at, 1);
        ref.delete(`${ft.key(2 * c, 1)},${ft.key(2 * c, 2)},${ft.key(2 * c, 3)}`);
        ft.freeConnection(c);
      }
    }
    assert.equal(ft.keyCount, ref.size);
    for (const [k, f] of ref) {
      const [k1, k2, k3] = k.split(',').map(Number);
      assert.equal(ft.lookup(key0(SCOPE_ENTRY, 6), k1, k2, k3), f);
    }
    assert.equal(ft.live, live.length);
  });

  it('expires on trace time: NaN never expires; a share\'s hand frees only connections past their time', () => {
    const ft = new FlowTable(16);
    const freed: number[] = [];
    ft.onFree = (c) => freed.push(c);
    const a = ft.allocConnection();
    const b = ft.allocConnection();
    const n = ft.allocConnection();
    ft.keyFlow(2 * a, 1, 1, 1, 1);
    ft.keyFlow(2 * b, 1, 2, 2, 2);
    ft.keyFlow(2 * n, 1, 3, 3, 3);
    expireAt(ft, a, 130);
    expireAt(ft, b, 400);
    expireAt(ft, n, NaN);
    for (const c of [a, b, n]) ft.admit(c, 5, 100);
    assert.equal(ft.expired(a, 129), false);
    assert.equal(ft.expired(a, 131), true);
    assert.equal(ft.expired(n, 1e12), false);
    // one direction still active keeps the connection
    ft.setExpiresAt(2 * b + 1, 100);
    assert.equal(ft.expired(b, 300), false);
    // the next admission into share 5 lets the hand take two steps: a (expired) is freed, b is passed
    const d = ft.allocConnection();
    ft.keyFlow(2 * d, 1, 4, 4, 4);
    ft.admit(d, 5, 200);
    assert.deepEqual(freed, [a]);
    assert.equal(ft.lookup(1, 1, 1, 1), -1);
    assert.equal(ft.lookup(1, 2, 2, 2), 2 * b);
    assert.equal(ft.isLive(a), false);
    assert.equal(ft.shareLive[5], 3);
    assert.equal(ft.evicted, 0);
  });

  it('grows past its initial capacity; expired connections are freed as new ones come into their share', () => {
    const ft = new FlowTable(16);
    const cap0 = ft.capacity;
    for (let k = 0; k < cap0; k++) {
      const c = ft.allocConnection();
      ft.keyFlow(2 * c, 1, k, 0, 0);
      expireAt(ft, c, 10);
      ft.admit(c, 0, 0);
    }
    for (let k = 0; k < 3 * cap0; k++) {
      const x = ft.allocConnection();
      ft.keyFlow(2 * x, 2, k, 0, 0);
      expireAt(ft, x, 1000);
      ft.admit(x, 0, 20);
    }
    assert.ok(ft.capacity > cap0);
    for (let k = 0; k < 3 * cap0; k++) assert.ok(ft.lookup(2, k, 0, 0) >= 0);
    for (let k = 0; k < cap0; k++) assert.equal(ft.lookup(1, k, 0, 0), -1, `expired connection ${k} still keyed`);
    assert.equal(ft.live, 3 * cap0);
    assert.equal(ft.evicted, 0);
  });

  it('holds at most ceil(max / FLOW_SHARES) connections per share: a full share evicts a connection idle since the hand last passed (CLOCK), never a busy one, and only its own', () => {
    const ft = new FlowTable(16, 4 * FLOW_SHARES); // 4 per share
    assert.equal(ft.shareLimit, 4);
    const add = (k: number, share: number, t: number): number => {
      const c = ft.allocConnection();
      ft.keyFlow(2 * c, 1, k, 0, 0);
      expireAt(ft, c, t + 1000);
      ft.admit(c, share, t);
      return c;
    };
    add(100, 4, 0); // another share: not counted against share 3
    // share 3: one busy connection that sees a packet before each new one comes, and 100 idle ones
    const busy = add(0, 3, 0);
    for (let k = 1; k <= 100; k++) {
      expireAt(ft, busy, k + 1000);
      add(k, 3, k);
      assert.ok(ft.shareLive[3] <= 4, `share 3 holds ${ft.shareLive[3]}`);
    }
    assert.equal(ft.lookup(1, 0, 0, 0), 2 * busy, 'the busy connection was evicted');
    assert.ok(ft.lookup(1, 100, 0, 0) >= 0, 'the newest connection is kept');
    assert.ok(ft.lookup(1, 1, 0, 0) < 0, 'the oldest idle connection is still there');
    assert.equal(ft.evicted, 101 - 4);
    assert.equal(ft.shareLive[3], 4);
    assert.equal(ft.shareLive[4], 1);
    // the arrays never grow past the limit, however many connections come
    for (let k = 0; k < 10_000; k++) add(1000 + k, k % FLOW_SHARES, 101 + k * 1e-3);
    assert.ok(ft.capacity <= ft.maxCapacity, `capacity ${ft.capacity} > ${ft.maxCapacity}`);
    assert.equal(ft.live, 4 * FLOW_SHARES);
  });

  it('a full share whose connections never saw a timestamp (NaN expiry) still evicts', () => {
    const ft = new FlowTable(16, FLOW_SHARES); // 1 per share
    const a = ft.allocConnection();
    ft.keyFlow(2 * a, 1, 1, 0, 0);
    ft.admit(a, 0, NaN);
    const b = ft.allocConnection();
    ft.keyFlow(2 * b, 1, 2, 0, 0);
    ft.admit(b, 0, NaN);
    assert.equal(ft.evicted, 1);
    assert.equal(ft.lookup(1, 1, 0, 0), -1);
    assert.equal(ft.lookup(1, 2, 0, 0), 2 * b);
  });

  it('costs at most 160 bytes per connection (both flows, their keys, the cold columns) when full (issue 12)', () => {
    const ft = new FlowTable(1 << 16);
    for (let c = 0; c < ft.capacity; c++) {
      const x = ft.allocConnection();
      ft.keyFlow(2 * x, key0(SCOPE_ENTRY, 6), 0x0af40105, 0xcb00710a, key3(c & 0xffff, 80));
      ft.keyFlow(2 * x + 1, key0(SCOPE_ENTRY, 6), 0xcb00710a, 0x0af40105, key3(80, c & 0xffff));
      ft.aliasKey(x);
      ft.seal(x);
    }
    assert.equal(ft.live, 1 << 16);
    assert.ok(ft.bytesPerConnection() <= 160, `${ft.bytesPerConnection()} bytes per connection`);
  });

  it('shares one action among connections that take the same path; each keeps its own NAT values', () => {
    const ft = new FlowTable(16);
    const node = 0x0a7f820b;
    const conns: number[] = [];
    for (let n = 0; n < 3; n++) {
      const c = ft.allocConnection();
      const client = 0x0af40105 + n; // pod, port 40000 + n, to 203.0.113.10:443, SNATed to the node at 49216 + n
      ft.setX(2 * c, 0x04, 1, 0);
      ft.setNat(2 * c, node, 49216 + n, 0, 0);
      ft.setEncap(2 * c, 3, 5000 + n);
      ft.setX(2 * c + 1, 0x08, 0, 0);
      ft.setNat(2 * c + 1, 0, 0, client, 40000 + n);
      ft.setService(c, 2, 7);
      ft.keyFlow(2 * c, key0(SCOPE_ENTRY, 6), client, 0xcb00710a, key3(40000 + n, 443));
      ft.keyFlow(2 * c + 1, key0(SCOPE_ENTRY, 6), 0xcb00710a, node, key3(443, 49216 + n));
      ft.seal(c);
      conns.push(c);
    }
    assert.equal(ft.actionCount, 3, 'the empty action, the SNAT and the un-SNAT');
    for (let n = 0; n < 3; n++) {
      const c = conns[n];
      assert.equal(ft.actionOf(2 * c), ft.actionOf(2 * conns[0]));
      assert.deepEqual([ft.snatIp(2 * c), ft.snatPort(2 * c), ft.outerSport(2 * c), ft.tpl(2 * c)], [node, 49216 + n, 5000 + n, 3]);
      assert.deepEqual([ft.dnatIp(2 * c + 1), ft.dnatPort(2 * c + 1), ft.service(2 * c + 1), ft.backend(2 * c)], [0x0af40105 + n, 40000 + n, 2, 7]);
    }
    // a NAT the partner's key does not say (here: keys that do not match it) keeps its own values
    const d = ft.allocConnection();
    ft.setX(2 * d, 0x0c, 1, 0);
    ft.setNat(2 * d, node, 1234, 0x0a000001, 8080);
    ft.keyFlow(2 * d, 1, 2, 3, 4);
    ft.keyFlow(2 * d + 1, 1, 5, 6, 7);
    ft.seal(d);
    assert.deepEqual([ft.snatIp(2 * d), ft.snatPort(2 * d), ft.dnatIp(2 * d), ft.dnatPort(2 * d)], [node, 1234, 0x0a000001, 8080]);
  });

  it('keeps each direction\'s transposition in its own 64-byte record', () => {
    const ft = new FlowTable(16);
    const c = ft.allocConnection();
    ft.setX(2 * c, 0x15, 1, 7);
    ft.setNat(2 * c, 0x0a7f820b, 49216, 0, 0);
    ft.setEndpoints(2 * c, 3, 1);
    ft.setService(c, 4, 9);
    ft.seal(c);
    ft.setTcp(c, 2);
    assert.deepEqual([ft.xflags(2 * c), ft.verdict(2 * c), ft.reason(2 * c)], [0x15, 1, 7]);
    assert.deepEqual([ft.snatIp(2 * c), ft.snatPort(2 * c), ft.ingress(2 * c), ft.egress(2 * c)], [0x0a7f820b, 49216, 3, 1]);
    assert.deepEqual([ft.service(2 * c + 1), ft.backend(2 * c + 1), ft.tcp(2 * c + 1)], [4, 9, 2]);
    assert.deepEqual([ft.xflags(2 * c + 1), ft.service(2 * c)], [0, 4]);
    const d = ft.allocConnection();
    assert.equal(ft.service(2 * d), -1, 'a new connection starts clean');
  });

  it('keeps a flow\'s passed decap check beside its TCP state, and forgets it when the slot holds a new connection (issue 12)', () => {
    const ft = new FlowTable(16);
    const c = ft.allocConnection();
    ft.keyFlow(2 * c, key0(SCOPE_ENTRY, 6), 1, 2, key3(3, 4));
    ft.keyFlow(2 * c + 1, key0(SCOPE_ENTRY, 6), 2, 1, key3(4, 3));
    ft.seal(c);
    assert.equal(ft.hopChecked(2 * c), false);
    ft.setTcp(c, TCP_SYN);
    ft.setHopChecked(2 * c);
    assert.equal(ft.tcp(2 * c), TCP_SYN, 'the check bit is not read as TCP state');
    ft.setTcp(c, TCP_ESTABLISHED);
    assert.equal(ft.hopChecked(2 * c), true, 'a TCP state change keeps the check');
    assert.equal(ft.hopChecked(2 * c + 1), false, 'the other direction has its own');
    assert.equal(ft.tcp(2 * c + 1), TCP_ESTABLISHED);
    assert.equal(ft.lookup(key0(SCOPE_ENTRY, 6), 1, 2, key3(3, 4)), 2 * c, 'the action id is unchanged');
    ft.freeConnection(c);
    const d = ft.allocConnection();
    assert.equal(d, c);
    assert.equal(ft.hopChecked(2 * d), false, 'a new connection in the slot is checked again');
  });

  it('touch (the warm pass) changes nothing the lookups see', () => {
    const ft = new FlowTable(16);
    const c = ft.allocConnection();
    ft.keyFlow(2 * c, key0(SCOPE_ENTRY, 17), 5, 6, key3(7, 8));
    const before = [ft.lookup(key0(SCOPE_ENTRY, 17), 5, 6, key3(7, 8)), ft.keyCount, ft.live];
    ft.touch(key0(SCOPE_ENTRY, 17), 5, 6, key3(7, 8));
    ft.touch(key0(SCOPE_ENTRY, 17), 9, 9, key3(9, 9));
    assert.deepEqual([ft.lookup(key0(SCOPE_ENTRY, 17), 5, 6, key3(7, 8)), ft.keyCount, ft.live], before);
    assert.equal(ft.lookup(key0(SCOPE_ENTRY, 17), 9, 9, key3(9, 9)), -1);
  });

  it('marks live slots and clears them on free', () => {
    const ft = new FlowTable(16);
    const c = ft.allocConnection();
    assert.ok((ft.cflags[c] & CF.LIVE) !== 0);
    ft.freeConnection(c);
    assert.equal(ft.isLive(c), false);
    ft.freeConnection(c); // twice is harmless
    assert.equal(ft.live, 0);
  });

  it('when the system refuses the reservation (strict overcommit), grows x1.5 instead and keeps every connection', () => {
    // past 2^18 slots a table reserves its whole bound in one ArrayBuffer; the hook makes that allocation
    // throw the RangeError a refused `new ArrayBuffer` throws: the table must go on, not exit 70
    const N = 400_000;
    const fill = (ft: FlowTable): void => {
      for (let k = 0; k < N; k++) {
        const c = ft.allocConnection();
        ft.keyFlow(2 * c, key0(SCOPE_ENTRY, 6), k, 7, key3(k & 0xffff, 80));
        ft.setNat(2 * c, k, k & 0xffff, 7, 80);
      }
    };
    const normal = new FlowTable(1024, 1 << 21);
    fill(normal);
    const old = setReserveLimitForTest(1);
    const refused = new FlowTable(1024, 1 << 21);
    try {
      fill(refused);
    } finally {
      setReserveLimitForTest(old);
    }
    assert.equal(refused.live, N);
    assert.equal(refused.capacity, normal.capacity, 'the same capacity steps');
    for (let k = 0; k < N; k++) {
      const f = refused.lookup(key0(SCOPE_ENTRY, 6), k, 7, key3(k & 0xffff, 80));
      assert.equal(f, normal.lookup(key0(SCOPE_ENTRY, 6), k, 7, key3(k & 0xffff, 80)));
      assert.ok(f >= 0, `connection ${k} kept`);
      assert.deepEqual([refused.key(f, 1), refused.key(f, 3)], [k, key3(k & 0xffff, 80)]);
      assert.deepEqual([refused.snatIp(f), refused.snatPort(f), refused.dnatIp(f)], [normal.snatIp(f), normal.snatPort(f), normal.dnatIp(f)]);
    }
    // without a reservation the arrays are as large as the capacity
    assert.ok(refused.bytesPerConnection() <= normal.bytesPerConnection());
  });
});
