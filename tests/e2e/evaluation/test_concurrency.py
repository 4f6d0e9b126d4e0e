"""Concurrent writers of one period take turns: nothing is lost, nothing is doubled."""

from concurrent.futures import ThreadPoolExecutor

from retailcare.evaluation.v1 import evaluation_pb2 as pb

from tests.e2e.evaluation.conftest import set_up_people

T = 30


def test_simultaneous_ratings_and_runs_of_one_period(stubs):
    ev = stubs[0]
    set_up_people(ev)

    def rate(score):
        rating = pb.Rating(period_id="2026", mode=pb.PEER, rater_id="mm-1", subject_id="cm-1", score=score)
        return ev.SubmitRating(pb.SubmitRatingRequest(rating=rating), timeout=T)

    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(rate, [60, 70, 80, 90]))
    assert sorted(r.rating.revision for r in replies) == [1, 2, 3, 4]
    assert sum(r.corrected for r in replies) == 3
    (kept,) = ev.ListRatings(pb.ListRatingsRequest(period_id="2026"), timeout=T).ratings
    assert kept.revision == 4 and kept.score == next(
        r.rating.score for r in replies if r.rating.revision == 4
    )

    def run(_):
        return ev.RunPeriodEvaluation(
            pb.RunPeriodEvaluationRequest(period_id="2026", run_by="hr-1"), timeout=T
        )

    with ThreadPoolExecutor(3) as pool:
        runs = list(pool.map(run, range(3)))
    assert sorted(r.period.runs for r in runs) == [1, 2, 3]
    results = ev.ListPeriodResults(pb.ListPeriodResultsRequest(period_id="2026"), timeout=T).results
    assert len(results) == 9 and {r.run for r in results} == {3}
    plans = ev.ListImprovementPlans(pb.ListImprovementPlansRequest(), timeout=T).plans
    assert len(plans) == len({p.subject_id for p in plans})  # one plan per low result, not one per run
