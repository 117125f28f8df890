"""The knowledge base's pure parts: text folding, the suggestion engine and the BANKING77 evaluation.

Nothing here imports the database: ``actions.faq`` stores articles, ``faq.service`` (a read model)
keeps one engine index per organisation in memory and refreshes it when articles change.
"""
