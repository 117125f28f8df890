"""Reports: KPIs (definitions in the product docs and KPIS.md) over conversations and messages."""
