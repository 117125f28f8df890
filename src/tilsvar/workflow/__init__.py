"""The conversation workflow's pure engines: business-hours calendars, SLA policies and clocks,
routing rules and assignment inside a team.

Nothing here touches the database. The actions layer loads rules, policies, calendars and a snapshot
of agents, calls these engines and stores what they decide (with their explanations), so that every
decision can be tested, benchmarked and explained without a database.
"""
