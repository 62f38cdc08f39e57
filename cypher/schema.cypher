// Constraints and indexes of the crossgraph graph model; every statement is idempotent.
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
CREATE INDEX bought_last_at IF NOT EXISTS FOR ()-[b:BOUGHT]-() ON (b.last_at);
CREATE INDEX recommended_version IF NOT EXISTS FOR ()-[r:RECOMMENDED]-() ON (r.model_version);
CREATE INDEX similar_version IF NOT EXISTS FOR ()-[r:SIMILAR_TO]-() ON (r.model_version);
