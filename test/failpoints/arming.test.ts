import { expect } from 'chai';
import { armFailpoints, failpoint, FailpointError, parseFailpoints } from '../../src/failpoints.ts';

describe('failpoints: arming', () => {
  afterEach(() => armFailpoints(undefined, false));

  it('parses name=kill|throw[@N] and names the known points when a name is wrong', () => {
    expect([...parseFailpoints('flush.after-lease=throw, poll.inside-finish=kill@2')]).to.deep.equal([
      ['flush.after-lease', { kind: 'throw', nth: null }],
      ['poll.inside-finish', { kind: 'kill', nth: 2 }],
    ]);
    expect(() => parseFailpoints('flush.nowhere=throw')).to.throw(
      /unknown failpoint "flush.nowhere" \(known: flush\.after-lease/,
    );
    expect(() => parseFailpoints('flush.after-lease=explode')).to.throw(/is not name=kill\|throw/);
  });

  it('is inert unless armed, and never armed in production', () => {
    expect(() => failpoint('flush.after-lease')).not.to.throw();
    armFailpoints('flush.after-lease=throw', true);
    expect(() => failpoint('flush.after-lease')).not.to.throw();
    armFailpoints('flush.after-lease=throw@2', false);
    expect(() => failpoint('flush.after-lease')).not.to.throw();
    expect(() => failpoint('flush.after-lease')).to.throw(FailpointError, /flush.after-lease fired/);
  });
});
