// Constraints and indexes of the crossgraph graph model; every statement is idempotent.
// Applied in one transaction (schema.init_schema). No query selects BOUGHT by last_at, so the
// index bought_last_at that graphs loaded before 2026-12 hold is dropped: every new BOUGHT
// and every merged ledger paid for its upkeep.
DROP INDEX bought_last_at IF EXISTS;
CREATE CONSTRAINT account_id IF NOT EXISTS FOR (a:Account) REQUIRE a.id IS UNIQUE;
CREATE CONSTRAINT product_sku IF NOT EXISTS FOR (p:Product) REQUIRE p.sku IS UNIQUE;
CREATE CONSTRAINT category_name IF NOT EXISTS FOR (c:Category) REQUIRE c.name IS UNIQUE;
CREATE CONSTRAINT asset_serial IF NOT EXISTS FOR (s:Asset) REQUIRE s.serial IS UNIQUE;
CREATE CONSTRAINT contract_id IF NOT EXISTS FOR (c:Contract) REQUIRE c.id IS UNIQUE;
CREATE CONSTRAINT event_id IF NOT EXISTS FOR (e:Event) REQUIRE e.id IS UNIQUE;
CREATE INDEX account_industry IF NOT EXISTS FOR (a:Account) ON (a.industry);
CREATE INDEX account_country IF NOT EXISTS FOR (a:Account) ON (a.country);
CREATE INDEX account_segment IF NOT EXISTS FOR (a:Account) ON (a.segment);
CREATE INDEX product_kind IF NOT EXISTS FOR (p:Product) ON (p.kind);
CREATE INDEX product_category IF NOT EXISTS FOR (p:Product) ON (p.category);
CREATE INDEX contract_ends_at IF NOT EXISTS FOR (c:Contract) ON (c.ends_at);
CREATE INDEX asset_installed_at IF NOT EXISTS FOR (s:Asset) ON (s.installed_at);
CREATE INDEX event_occurred_at IF NOT EXISTS FOR (e:Event) ON (e.occurred_at);
CREATE INDEX recommended_version IF NOT EXISTS FOR ()-[r:RECOMMENDED]-() ON (r.model_version);
CREATE INDEX similar_version IF NOT EXISTS FOR ()-[r:SIMILAR_TO]-() ON (r.model_version);
CREATE CONSTRAINT feedback_id IF NOT EXISTS FOR (f:Feedback) REQUIRE f.id IS UNIQUE;
CREATE INDEX feedback_action_at IF NOT EXISTS FOR (f:Feedback) ON (f.action, f.at);
CREATE CONSTRAINT contact_id IF NOT EXISTS FOR (c:Contact) REQUIRE c.id IS UNIQUE;
CREATE CONSTRAINT touchpoint_id IF NOT EXISTS FOR (t:Touchpoint) REQUIRE t.id IS UNIQUE;
CREATE INDEX touchpoint_occurred_at IF NOT EXISTS FOR (t:Touchpoint) ON (t.occurred_at);
CREATE CONSTRAINT opportunity_list_key IF NOT EXISTS FOR (l:OpportunityList) REQUIRE l.key IS UNIQUE;
CREATE INDEX opportunity_list_quarter IF NOT EXISTS FOR (l:OpportunityList) ON (l.quarter);
CREATE CONSTRAINT change_feed_id IF NOT EXISTS FOR (f:ChangeFeed) REQUIRE f.id IS UNIQUE;
CREATE INDEX change_seq IF NOT EXISTS FOR (c:Change) ON (c.seq);
CREATE CONSTRAINT experiment_name IF NOT EXISTS FOR (e:Experiment) REQUIRE e.name IS UNIQUE;
CREATE INDEX experiment_status IF NOT EXISTS FOR (e:Experiment) ON (e.status);
CREATE INDEX experiment_arm IF NOT EXISTS FOR (a:ExperimentArm) ON (a.experiment, a.arm);
CREATE INDEX arm_shown IF NOT EXISTS FOR (w:ArmShown) ON (w.experiment, w.arm, w.worker);
CREATE INDEX feedback_experiment IF NOT EXISTS FOR (f:Feedback) ON (f.experiment, f.arm);
CREATE INDEX change_at IF NOT EXISTS FOR (c:Change) ON (c.at);
