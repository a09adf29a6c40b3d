{#-
  Unit-test fixtures write list values the way the marts show them, "[a, b]" (DuckDB's list
  literal). dbt-postgres reports an array column's type as plain ARRAY, which is not castable: turn
  the literal into a text[] instead. dbt looks in the root project first for `dbt`-namespace
  dispatches, so this replaces dbt's own postgres safe_cast for fixtures and models alike; every
  other type keeps dbt's default cast.
-#}
{% macro postgres__safe_cast(field, type) -%}
    {%- if type | upper == 'ARRAY' -%}
    cast(translate({{ field }}, '[]', '{}') as text[])
    {%- else -%}
    cast({{ field }} as {{ type }})
    {%- endif -%}
{%- endmacro %}
