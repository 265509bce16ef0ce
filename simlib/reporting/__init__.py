"""Reports for readers.

Strings and number formats in Indonesian and English (``i18n``), figures (``plots``),
notebook content, HTML pages and briefings (``report``).
"""
