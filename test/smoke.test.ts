import { strict as assert } from 'node:assert';
import { Batch, HEADROOM } from '../src/core/batch';

describe('Batch', () => {
  it('keeps headroom before every packet slot so encapsulation is a prepend', () => {
    const b = new Batch({ capacity: 4 });
    b.reset(1);
    const i = b.alloc(60);
    const j = b.alloc(61);
    assert.equal(b.off[i], HEADROOM);
    assert.ok(b.off[j] - (b.off[i] + 60) >= HEADROOM);
    assert.equal(b.off[j] % 8, 0);
  });
  it('refuses a packet once the slot count is reached', () => {
    const b = new Batch({ capacity: 1 });
    b.reset(1);
    b.alloc(10);
    assert.equal(b.fits(10), false);
  });
});
