"""What supervisors and auditors read: rates, rankings, summaries, units, certificates, audit queries."""
