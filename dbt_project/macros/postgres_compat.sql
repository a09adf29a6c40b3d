{#-
  PostgreSQL overrides of dbt's own (`dbt`-namespace) macros. dbt looks in the root project first
  for `dbt`-namespace dispatches, so these replace dbt-postgres' versions; DuckDB is unaffected.
-#}

{#-
  Unit-test fixtures write list values the way the marts show them, "[a, b]" (DuckDB's list
  literal). dbt-postgres reports an array column's type as plain ARRAY, which is not castable: turn
  the literal into a text[] instead. Every other type keeps dbt's default cast.
-#}
{% macro postgres__safe_cast(field, type) -%}
    {%- if type | upper == 'ARRAY' -%}
    cast(translate({{ field }}, '[]', '{}') as text[])
    {%- else -%}
    cast({{ field }} as {{ type }})
    {%- endif -%}
{%- endmacro %}

{#-
  Incremental models with `on_schema_change='fail'`: a string literal or a concatenation is `text`
  in PostgreSQL while the contracted column is `varchar` (character varying, no length): the same
  type for every value it can hold. Only that pair is forgiven; any other change still fails.
-#}
{% macro postgres__diff_column_data_types(source_columns, target_columns) %}
    {%- set unbounded = ['text', 'character varying'] -%}
    {%- set result = [] -%}
    {%- for sc in source_columns -%}
        {%- set tc = target_columns | selectattr("name", "equalto", sc.name) | list | first -%}
        {%- if tc -%}
            {%- set same_string = (sc.expanded_data_type | lower) in unbounded and (tc.expanded_data_type | lower) in unbounded -%}
            {%- if not same_string and sc.expanded_data_type != tc.expanded_data_type and not sc.can_expand_to(other_column=tc) -%}
                {%- do result.append({'column_name': tc.name, 'new_type': sc.expanded_data_type}) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(result) }}
{% endmacro %}
