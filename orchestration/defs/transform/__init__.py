"""dbt: staging → intermediate → marts (and the repair plan) as assets, dbt tests as asset checks."""
