"""ClassificationService over gRPC: parse the request, call a use case, build the reply."""

from __future__ import annotations

from retailcare.classification.v1 import classification_pb2 as pb
from retailcare.classification.v1 import classification_pb2_grpc

from services.classification import impact, mapping
from services.classification.change_feed import ClassificationChanges, reply_data
from services.classification.reclassification_job import JobReads
from services.classification.service_layer import ClassificationUseCases
from services.common.errors import InvalidArgument


class ClassificationServicer(classification_pb2_grpc.ClassificationServiceServicer):
    def __init__(self, use_cases: ClassificationUseCases, jobs: JobReads, changes: ClassificationChanges):
        self.use_cases = use_cases
        self.jobs = jobs
        self.changes = changes

    def _customer(self, customer) -> pb.Customer:
        return mapping.customer_message(customer, self.use_cases.decided_on(customer))

    def CreateCustomer(self, request, context):
        customer = self.use_cases.create(mapping.input_values(request.customer))
        return pb.CreateCustomerResponse(customer=self._customer(customer))

    def UpdateCustomer(self, request, context):
        customer = self.use_cases.update(
            request.customer.licence_number,
            mapping.input_values(request.customer),
            list(request.update_mask.paths),
        )
        return pb.UpdateCustomerResponse(customer=self._customer(customer))

    def GetCustomer(self, request, context):
        customer = self.use_cases.get(request.licence_number)
        return pb.GetCustomerResponse(customer=self._customer(customer))

    def ListCustomers(self, request, context):
        customers, token = self.use_cases.list(
            mapping.customer_query(request.filter), request.page_size, request.page_token
        )
        return pb.ListCustomersResponse(
            customers=[self._customer(c) for c in customers], next_page_token=token
        )

    def DeactivateCustomer(self, request, context):
        customer = self.use_cases.deactivate(request.licence_number, request.reason)
        return pb.DeactivateCustomerResponse(customer=self._customer(customer))

    def ClassifyCustomer(self, request, context):
        customer = self.use_cases.classify_on_demand(request.licence_number)
        return pb.ClassifyCustomerResponse(customer=self._customer(customer))

    def GetCustomerFacts(self, request, context):
        licence, facts = self.use_cases.facts(request.licence_number, request.rule_set)
        return mapping.facts_reply(licence, request.rule_set, facts)

    def ExplainClassification(self, request, context):
        return mapping.explanation_reply(self.use_cases.explain(request.licence_number))

    def ListClassificationHistory(self, request, context):
        entries, token = self.use_cases.history(request.licence_number, request.page_size, request.page_token)
        return pb.ListClassificationHistoryResponse(
            classifications=[mapping.classification_message(e) for e in entries], next_page_token=token
        )

    def ListClassificationChanges(self, request, context):
        page = self.changes.after(request.after_change_id, request.page_size)
        return reply_data(page)  # already serialised (the kernel sends bytes as they are)

    def GetServiceMenu(self, request, context):
        customer, items = self.use_cases.menu(request.licence_number)
        return mapping.menu_reply(customer, items, self.use_cases.decided_on(customer))

    def ListServiceDescriptions(self, request, context):
        return pb.ListServiceDescriptionsResponse(
            descriptions=[mapping.description_message(d) for d in self.use_cases.descriptions()]
        )

    def UpdateServiceDescription(self, request, context):
        description = self.use_cases.update_description(mapping.description_values(request.description))
        return pb.UpdateServiceDescriptionResponse(description=mapping.description_message(description))

    def ImportCustomers(self, request_iterator, context):
        next_row = 1
        for request in request_iterator:
            first = request.first_row or next_row
            numbers = list(request.row_numbers) or [first + index for index in range(len(request.rows))]
            if len(numbers) != len(request.rows):
                raise InvalidArgument([("row_numbers", "give one number per row, or none")])
            rows = [
                (number, mapping.input_values(row)) for number, row in zip(numbers, request.rows, strict=True)
            ]
            next_row = numbers[-1] + 1 if numbers else next_row
            result = self.use_cases.import_batch(rows, request.update_existing)
            yield mapping.import_reply(result, len(rows))

    def ReclassifyCustomers(self, request, context):
        progress = None
        for progress in self.use_cases.reclassify(mapping.customer_query(request.filter)):
            yield mapping.progress_reply(progress)
        yield (
            mapping.progress_reply(progress, done=True)
            if progress
            else pb.ReclassifyCustomersResponse(done=True)
        )

    def GetReclassificationJob(self, request, context):
        return pb.GetReclassificationJobResponse(job=mapping.job_message(self.jobs.latest(request.rule_set)))

    def ListReclassificationJobs(self, request, context):
        jobs = self.jobs.list(request.rule_set, request.page_size)
        return pb.ListReclassificationJobsResponse(jobs=[mapping.job_message(job) for job in jobs])

    def PreviewRuleSetImpact(self, request, context):
        report = self.use_cases.preview(request.draft_source, request.sample_size or 20)
        return mapping.preview_reply(report)

    def StreamRuleSetImpact(self, request, context):
        for item in impact.changed_customers(self.use_cases, request.draft_source):
            yield mapping.impact_reply(item)

    def UpsertMarketZone(self, request, context):
        z = request.zone
        zone = self.use_cases.upsert_zone(z.code, z.name, z.team_id)
        return pb.UpsertMarketZoneResponse(zone=mapping.zone_message(zone))

    def ListMarketZones(self, request, context):
        zones, token = self.use_cases.zones(request.page_size, request.page_token)
        return pb.ListMarketZonesResponse(
            zones=[mapping.zone_message(z) for z in zones], next_page_token=token
        )

    def ReassignMarketZone(self, request, context):
        zone, moved = self.use_cases.reassign_zone(request.code, request.team_id)
        return pb.ReassignMarketZoneResponse(zone=mapping.zone_message(zone), customers_moved=moved)
