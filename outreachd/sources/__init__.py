"""Account sources: where delinquent accounts come from (CSV, JSON Lines, SQL)."""
