-- Where the rosters place a worker: an enrolment code for a worker or post office no roster names
-- is refused (domain/enrolment.rs check_assignment); without this index that question scans every
-- recipient at national scale.
CREATE INDEX recipients_worker_post_office ON recipients (worker_id, post_office);
