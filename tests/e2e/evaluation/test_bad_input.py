"""Bad input is refused with the fields named, and nothing is half-written."""

import datetime
import io

import grpc
import openpyxl
import pytest
from retailcare.evaluation.v1 import evaluation_pb2 as pb

from services.common import times
from services.common.errors import field_violations
from tests.e2e.evaluation.conftest import set_up_people, stamp

T = 10


def refused(call, code):
    with pytest.raises(grpc.RpcError) as error:
        call()
    assert error.value.code() == code, error.value.details()
    return error.value


def rating(mode, rater, subject, score=0.0, answers=(), period="2026"):
    message = pb.Rating(
        period_id=period, mode=mode, rater_id=rater, subject_id=subject, score=score, answers=answers
    )
    return pb.SubmitRatingRequest(rating=message)


def test_bad_input_names_the_fields_and_writes_nothing(stubs):
    ev = stubs[0]
    set_up_people(ev)
    invalid, missing = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND

    # Ratings: out of range, a rater who may not, unknown people and periods.
    error = refused(lambda: ev.SubmitRating(rating(pb.PEER, "mm-1", "cm-1", 140), timeout=T), invalid)
    assert set(field_violations(error)) == {"rating.score"}
    error = refused(
        lambda: ev.SubmitRating(rating(pb.CUSTOMER_SURVEY, "L-1", "cm-1", answers=[6]), timeout=T), invalid
    )
    assert set(field_violations(error)) == {"rating.answers"}
    error = refused(lambda: ev.SubmitRating(rating(pb.PEER, "cm-1", "cm-1", 80), timeout=T), invalid)
    assert set(field_violations(error)) == {"rating.rater_id"}
    error = refused(lambda: ev.SubmitRating(rating(pb.PEER, "cm-2", "cm-1", 80), timeout=T), invalid)
    assert "between lines" in field_violations(error)["rating.rater_id"]
    error = refused(lambda: ev.SubmitRating(rating(pb.INSPECTION, "in-2", "cm-1", 80), timeout=T), invalid)
    assert "city inspectors" in field_violations(error)["rating.rater_id"]
    error = refused(lambda: ev.SubmitRating(rating(0, "mm-1", "cm-1", 80), timeout=T), invalid)
    assert set(field_violations(error)) == {"rating.mode"}
    refused(lambda: ev.SubmitRating(rating(pb.PEER, "mm-1", "nobody", 80), timeout=T), missing)
    refused(lambda: ev.SubmitRating(rating(pb.PEER, "mm-1", "cm-1", 80, period="1999"), timeout=T), missing)
    refused(
        lambda: ev.SubmitRating(rating(pb.CUSTOMER_SURVEY, "L-404", "cm-1", answers=[5]), timeout=T), missing
    )
    assert ev.ListRatings(pb.ListRatingsRequest(period_id="2026"), timeout=T).ratings == []

    # Visit cards: unknown staff or customer, a future visit, a correction without why.
    visited = stamp(times.now() - datetime.timedelta(hours=2))
    item = [pb.VisitItem(service="customer_manager_visit", steps_done=[1, 2])]
    refused(
        lambda: ev.RecordVisitCard(
            pb.RecordVisitCardRequest(staff_id="ghost", licence_number="L-1", visited_at=visited, items=item),
            timeout=T,
        ),
        missing,
    )
    error = refused(
        lambda: ev.RecordVisitCard(
            pb.RecordVisitCardRequest(
                staff_id="cm-1", licence_number="L-404", visited_at=visited, items=item
            ),
            timeout=T,
        ),
        missing,
    )
    assert "L-404" in error.details()
    future = stamp(times.now() + datetime.timedelta(days=1))
    error = refused(
        lambda: ev.RecordVisitCard(
            pb.RecordVisitCardRequest(
                staff_id="cm-1", licence_number="L-1", visited_at=future, items=[], supersedes_card_id="x"
            ),
            timeout=T,
        ),
        invalid,
    )
    assert set(field_violations(error)) == {"visited_at", "items", "corrected_by", "correction_reason"}
    assert ev.ListVisitCards(pb.ListVisitCardsRequest(staff_id="cm-1"), timeout=T).cards == []

    # Goals and actuals: a split that does not add up, a row naming nobody: all or nothing.
    error = refused(
        lambda: ev.SetTeamGoal(
            pb.SetTeamGoalRequest(
                period_id="2026",
                team_id="team-1",
                sales_target=1000,
                member_weights=[
                    pb.MemberWeight(staff_id="cm-1", weight=0.5),
                    pb.MemberWeight(staff_id="cm-2", weight=0.4),
                ],
            ),
            timeout=T,
        ),
        invalid,
    )
    assert "add up to 1" in field_violations(error)["member_weights"]
    error = refused(
        lambda: ev.RecordActuals(
            pb.RecordActualsRequest(
                period_id="2026",
                actuals=[
                    pb.Actual(subject_id="cm-1", subject_kind="staff", sales_actual=10),
                    pb.Actual(subject_id="cm-9", subject_kind="staff", sales_actual=10),
                    pb.Actual(subject_id="cm-2", subject_kind="staff", sales_target=-1),
                ],
            ),
            timeout=T,
        ),
        invalid,
    )
    assert set(field_violations(error)) == {"actuals[2].sales_target"}
    error = refused(
        lambda: ev.RecordActuals(
            pb.RecordActualsRequest(
                period_id="2026",
                actuals=[pb.Actual(subject_id="cm-9", subject_kind="staff", sales_actual=10)],
            ),
            timeout=T,
        ),
        invalid,
    )
    assert set(field_violations(error)) == {"actuals[0].subject_id"}

    # An import keeps good rows and reports bad ones by row number.
    content = (
        b"subject_id,subject_kind,sales_actual,sales_target\n"
        b"cm-1,staff,120,100\n"
        b"cm-9,staff,1,1\n"
        b"cm-2,staff,lots,100\n"
        b"team-1,team,900,\n"
    )
    report = ev.ImportActuals(
        pb.ImportActualsRequest(period_id="2026", format="csv", content=content), timeout=T
    )
    assert report.recorded == 2
    assert [(e.row, e.field) for e in report.errors] == [(2, "subject_id"), (3, "sales_actual")]
    book = openpyxl.Workbook()
    book.active.append(["subject_id", "subject_kind", "sales_actual", "sales_target"])
    book.active.append(["cm-2", "staff", 50, 80])
    book.active.append(["cm-1", "staff", None, None])
    workbook = io.BytesIO()
    book.save(workbook)
    assert len(workbook.getvalue()) > 4000  # larger than the default limit of a bytes field
    report = ev.ImportActuals(
        pb.ImportActualsRequest(period_id="2026", format="xlsx", content=workbook.getvalue()), timeout=T
    )
    assert report.recorded == 1 and [(e.row, e.field) for e in report.errors] == [(2, "sales_actual")]
    error = refused(
        lambda: ev.ImportActuals(
            pb.ImportActualsRequest(period_id="2026", format="xlsx", content=b"nope"), timeout=T
        ),
        invalid,
    )
    assert set(field_violations(error)) == {"content"}

    # Periods: unknown, badly formed, duplicate, published before a run.
    refused(
        lambda: ev.RunPeriodEvaluation(
            pb.RunPeriodEvaluationRequest(period_id="1999", run_by="hr"), timeout=T
        ),
        missing,
    )
    error = refused(
        lambda: ev.CreatePeriod(
            pb.CreatePeriodRequest(
                period=pb.Period(id="bad period", kind="week", starts_on="2026-02-30", ends_on="x")
            ),
            timeout=T,
        ),
        invalid,
    )
    assert set(field_violations(error)) == {"period.starts_on", "period.ends_on"}
    refused(
        lambda: ev.CreatePeriod(
            pb.CreatePeriodRequest(
                period=pb.Period(id="2026", kind="year", starts_on="2026-01-01", ends_on="2026-12-31")
            ),
            timeout=T,
        ),
        grpc.StatusCode.ALREADY_EXISTS,
    )
    refused(
        lambda: ev.PublishPeriod(pb.PublishPeriodRequest(id="2026", published_by="director"), timeout=T),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    refused(lambda: ev.GetImprovementPlan(pb.GetImprovementPlanRequest(id="nope"), timeout=T), missing)
    refused(
        lambda: ev.ExportPeriodResults(
            pb.ExportPeriodResultsRequest(period_id="2026", format="pdf"), timeout=T
        ),
        invalid,
    )
