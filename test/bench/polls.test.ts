import { describe, expect, it } from "vitest";
import { maxInWindow, readyPollIndex, summarisePolls, type TaskTimeline, taskPollFigures } from "../../bench/polls.js";

const at = (...times: number[]) => times.map((t) => ({ at: t }));

describe("readyPollIndex", () => {
  it("is the first poll at or after readyAt when statuses are not recorded", () => {
    expect(readyPollIndex(at(100, 600, 1100), 600)).toBe(1);
    expect(readyPollIndex(at(100, 599, 1100), 600)).toBe(2);
    expect(readyPollIndex(at(100, 200), 600)).toBe(-1);
    expect(readyPollIndex(at(100, 700), undefined)).toBe(-1);
  });

  it("trusts recorded statuses over the clock", () => {
    const polls = [
      { at: 100, status: "Pending" },
      { at: 650, status: "Pending" },
      { at: 700, status: "Ready" },
    ];
    expect(readyPollIndex(polls, 600)).toBe(2);
  });
});

describe("maxInWindow", () => {
  it("counts the most times inside any half-open window", () => {
    expect(maxInWindow([], 1000)).toBe(0);
    expect(maxInWindow([5], 1000)).toBe(1);
    // Every 100 ms: ten fit in [0, 1000), the eleventh (at 1000) does not.
    expect(maxInWindow([0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000], 1000)).toBe(10);
    expect(maxInWindow([0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 999], 1000)).toBe(11);
    expect(maxInWindow([0, 10, 2000, 2005, 2010, 5000], 1000)).toBe(3);
  });
});

describe("taskPollFigures", () => {
  it("computes lag, rate, max rate and delivery from a fixed 500 ms poller", () => {
    // Created at 0, ready at 1_200; polls every 500 ms from 500: the one at 1_500 sees Ready.
    const task: TaskTimeline = { createdAt: 0, readyAt: 1200, polls: at(500, 1000, 1500), deliveredAt: 1530 };
    const f = taskPollFigures(task)!;
    expect(f.lagMs).toBe(300);
    expect(f.readyPollAt).toBe(1500);
    expect(f.polls).toBe(3);
    expect(f.lifeMs).toBe(1500);
    expect(f.rate).toBeCloseTo(2);
    expect(f.maxRate).toBeCloseTo(2);
    expect(f.maxPollsPerSecond).toBe(2);
    expect(f.deliveredMs).toBe(330);
  });

  it("max rate comes from the shortest gap; polls after the Ready one are ignored", () => {
    const task: TaskTimeline = { createdAt: 0, readyAt: 2000, polls: at(1000, 1900, 1950, 2010, 2011) };
    const f = taskPollFigures(task)!;
    expect(f.polls).toBe(4);
    expect(f.lagMs).toBe(10);
    expect(f.maxRate).toBeCloseTo(1000 / 50);
    expect(f.maxPollsPerSecond).toBe(3);
    expect(f.rate).toBeCloseTo(4 / 2.01);
    expect(f.deliveredMs).toBeUndefined();
  });

  it("sorts polls by time first", () => {
    const task: TaskTimeline = { createdAt: 0, readyAt: 1000, polls: at(1100, 400, 900) };
    expect(taskPollFigures(task)!.lagMs).toBe(100);
    expect(taskPollFigures(task)!.maxRate).toBeCloseTo(1000 / 200);
  });

  it("a single poll's max rate is its own rate; two polls in the same millisecond are an infinite rate", () => {
    expect(taskPollFigures({ createdAt: 0, readyAt: 400, polls: at(500) })!.maxRate).toBeCloseTo(2);
    expect(taskPollFigures({ createdAt: 0, readyAt: 400, polls: at(350, 350, 500) })!.maxRate).toBe(
      Number.POSITIVE_INFINITY,
    );
  });

  it("is undefined when no poll saw Ready", () => {
    expect(taskPollFigures({ createdAt: 0, readyAt: 1000, polls: at(500) })).toBeUndefined();
    expect(taskPollFigures({ createdAt: 0, readyAt: undefined, polls: at(500) })).toBeUndefined();
  });
});

describe("summarisePolls", () => {
  it("takes the median lag, the mean of per-task rates and the highest max rate; unseen tasks count only in `tasks`", () => {
    const tasks: TaskTimeline[] = [
      { createdAt: 0, readyAt: 1000, polls: at(500, 1010), deliveredAt: 1100 },
      { createdAt: 0, readyAt: 1000, polls: at(900, 1030), deliveredAt: 1200 },
      { createdAt: 0, readyAt: 1000, polls: at(100, 200, 1090), deliveredAt: 1300 },
      { createdAt: 0, readyAt: 5000, polls: at(100) },
    ];
    const s = summarisePolls(tasks);
    expect(s.tasks).toBe(4);
    expect(s.seen).toBe(3);
    expect(s.medianLagMs).toBe(30);
    expect(s.maxLagMs).toBe(90);
    expect(s.p90LagMs).toBeCloseTo(78);
    expect(s.meanRate).toBeCloseTo((2 / 1.01 + 2 / 1.03 + 3 / 1.09) / 3);
    expect(s.maxRate).toBeCloseTo(1000 / 100);
    expect(s.maxPollsPerSecond).toBe(3);
    expect(s.medianDeliveredMs).toBe(200);
    expect(s.totalPolls).toBe(7);
  });

  it("is all NaN for no tasks", () => {
    const s = summarisePolls([]);
    expect(s.seen).toBe(0);
    expect(s.medianLagMs).toBeNaN();
    expect(s.meanRate).toBeNaN();
  });
});
