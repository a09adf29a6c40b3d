{#-
  Engine-specific SQL behind adapter.dispatch, so models stay portable: `default__` is DuckDB's
  dialect, `postgres__` PostgreSQL's; another engine adds its own `<adapter>__` version here
  without copying any model (docs/scaling.md).
-#}

{#- The first element of a JSON array of strings that starts with `prefix`, with the prefix removed. -#}
{% macro json_array_value_with_prefix(json_column, prefix) -%}
    {{ return(adapter.dispatch('json_array_value_with_prefix', 'shoptok')(json_column, prefix)) }}
{%- endmacro %}

{% macro default__json_array_value_with_prefix(json_column, prefix) -%}
    (
        select substr(t.tag, {{ prefix | length + 1 }})
        from (select unnest(cast(json_extract_string({{ json_column }}, '$[*]') as varchar[])) as tag) as t
        where starts_with(t.tag, '{{ prefix }}')
        limit 1
    )
{%- endmacro %}

{% macro postgres__json_array_value_with_prefix(json_column, prefix) -%}
    (
        select substr(t.tag, {{ prefix | length + 1 }})
        from jsonb_array_elements_text(cast({{ json_column }} as jsonb)) with ordinality as t (tag, position)
        where starts_with(t.tag, '{{ prefix }}')
        order by t.position
        limit 1
    )
{%- endmacro %}

{#- The value of the first {"key": …, "value": …} object in a JSON array whose key equals `key`. -#}
{% macro json_key_value(json_column, key) -%}
    {{ return(adapter.dispatch('json_key_value', 'shoptok')(json_column, key)) }}
{%- endmacro %}

{% macro default__json_key_value(json_column, key) -%}
    (
        select json_extract_string(a.attr, '$.value')
        from (select unnest(cast(json_extract({{ json_column }}, '$[*]') as json[])) as attr) as a
        where json_extract_string(a.attr, '$.key') = '{{ key }}'
        limit 1
    )
{%- endmacro %}

{% macro postgres__json_key_value(json_column, key) -%}
    (
        select a.attr ->> 'value'
        from jsonb_array_elements(cast({{ json_column }} as jsonb)) with ordinality as a (attr, position)
        where a.attr ->> 'key' = '{{ key }}'
        order by a.position
        limit 1
    )
{%- endmacro %}

{#-
  `create … if not exists` that two models may run at once (the incremental state schema and
  table, from hooks of models dbt builds in parallel). DuckDB builds one model at a time; on
  PostgreSQL two concurrent `if not exists` can both miss and one then fails on the catalog's
  unique index: that loser's error is swallowed, because the object it wanted now exists.
-#}
{% macro create_if_missing(statement) -%}
    {{ return(adapter.dispatch('create_if_missing', 'shoptok')(statement)) }}
{%- endmacro %}

{% macro default__create_if_missing(statement) -%}{{ statement }}{%- endmacro %}

{% macro postgres__create_if_missing(statement) -%}
    do $create_if_missing$ begin {{ statement }}; exception when unique_violation or duplicate_schema or duplicate_table then null; end $create_if_missing$
{%- endmacro %}

{#- The as_of var as a timestamp literal: every time-based rule compares against this, never now(). -#}
{% macro as_of() -%}
    cast('{{ var("as_of") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- A timestamp with time zone as a UTC wall-clock timestamp: the one timestamp type the marts use. -#}
{% macro to_utc(column) -%}
    {{ return(adapter.dispatch('to_utc', 'shoptok')(column)) }}
{%- endmacro %}

{% macro default__to_utc(column) -%}
    cast(timezone('UTC', {{ column }}) as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#-
  The newest row per key, as an aliased subquery (PostgreSQL before 16 requires the alias). dlt merges on the primary key, so duplicates should not exist; a load
  killed at the wrong moment can still leave one (dlt #3023), and staging must not pass it on.
-#}
{% macro deduplicated(relation, keys) -%}
    (
        select *
        from (
            select
                *,
                row_number() over (partition by {{ keys | join(', ') }} order by _dlt_load_id desc) as _row_rank
            from {{ relation }}
        ) as ranked
        where _row_rank = 1
    ) as deduplicated
{%- endmacro %}

{#-
  drift_type and drift_flags from an ordered list of (drift type, boolean column) pairs: the type is
  the first rule that fails, the flags list every rule that fails. A NULL rule counts as passing.
-#}
{% macro drift_columns(rules, ok='in_sync') -%}
    case
        {%- for name, cond in rules %}
        when coalesce({{ cond }}, false) then '{{ name }}'
        {%- endfor %}
        else '{{ ok }}'
    end as drift_type,
    {{ shoptok.flag_list(rules) }} as drift_flags
{%- endmacro %}

{% macro flag_list(rules) -%}
    {{ return(adapter.dispatch('flag_list', 'shoptok')(rules)) }}
{%- endmacro %}

{#- One element per rule: its name when it fails, else NULL (the engine's list drops the NULLs). -#}
{% macro flag_cases(rules) -%}
    {%- for name, cond in rules %}case when coalesce({{ cond }}, false) then '{{ name }}' end{% if not loop.last %}, {% endif %}{% endfor -%}
{%- endmacro %}

{% macro default__flag_list(rules) -%}
    {%- if rules | length == 0 -%}
    cast([] as varchar[])
    {%- else -%}
    list_filter([{{ shoptok.flag_cases(rules) }}], lambda x: x is not null)
    {%- endif -%}
{%- endmacro %}

{% macro postgres__flag_list(rules) -%}
    array_remove(array[{{ shoptok.flag_cases(rules) }}]::text[], null)
{%- endmacro %}

{#-
  JSON building, portable: payloads are the exact API inputs the repair jobs send, and their text is
  the same on every engine (compact, keys in the given order, as DuckDB writes it), so a plan built
  on PostgreSQL is byte-for-byte the plan built on DuckDB. PostgreSQL's json_build_object/json_agg
  would insert spaces (`"k" : v`, `, `) and jsonb would reorder the keys: the text is assembled
  from each value's JSON instead, through json_build_array (one element: no separator).
-#}
{% macro postgres__json_value_text(expr) -%}
    regexp_replace(cast(json_build_array({{ expr }}) as text), '^\[(.*)\]$', '\1')
{%- endmacro %}

{% macro json_obj(pairs) -%}
    {{ return(adapter.dispatch('json_obj', 'shoptok')(pairs)) }}
{%- endmacro %}

{% macro default__json_obj(pairs) -%}
    json_object({% for k, v in pairs %}'{{ k }}', {{ v }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}

{% macro postgres__json_obj(pairs) -%}
    cast(
        '{'
        {%- for k, v in pairs %}
        || '{{ "," if not loop.first }}"{{ k }}":' || {{ shoptok.postgres__json_value_text(v) }}
        {%- endfor %}
        || '}' as json
    )
{%- endmacro %}

{% macro json_list(expr, order_by) -%}
    {{ return(adapter.dispatch('json_list', 'shoptok')(expr, order_by)) }}
{%- endmacro %}

{% macro default__json_list(expr, order_by) -%}
    to_json(list({{ expr }} order by {{ order_by }}))
{%- endmacro %}

{% macro postgres__json_list(expr, order_by) -%}
    cast('[' || string_agg({{ shoptok.postgres__json_value_text(expr) }}, ',' order by {{ order_by }}) || ']' as json)
{%- endmacro %}

{% macro list_size(column) -%}
    {{ return(adapter.dispatch('list_size', 'shoptok')(column)) }}
{%- endmacro %}

{% macro default__list_size(column) -%}len({{ column }}){%- endmacro %}

{% macro postgres__list_size(column) -%}coalesce(cardinality({{ column }}), 0){%- endmacro %}

{% macro list_contains(column, value) -%}
    {{ return(adapter.dispatch('list_contains', 'shoptok')(column, value)) }}
{%- endmacro %}

{% macro default__list_contains(column, value) -%}list_contains({{ column }}, {{ value }}){%- endmacro %}

{% macro postgres__list_contains(column, value) -%}({{ value }} = any({{ column }})){%- endmacro %}

{% macro json_array_of(expr) -%}
    {{ return(adapter.dispatch('json_array_of', 'shoptok')(expr)) }}
{%- endmacro %}

{% macro default__json_array_of(expr) -%}json_array({{ expr }}){%- endmacro %}

{% macro postgres__json_array_of(expr) -%}json_build_array({{ expr }}){%- endmacro %}
