"""Jobs, schedules and the repair sensor: when the pipeline runs and when the repair plan is handed on."""
