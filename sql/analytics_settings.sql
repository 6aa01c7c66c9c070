-- One row: the thresholds the other views share, kept here so that each has a single definition.
-- Change a value in this file. create_views replaces the views after every sync, so an edit made
-- in the database with `create or replace view` lasts only until the next sync.
select
    3600 as stuck_after_s
