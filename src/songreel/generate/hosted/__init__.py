"""Hosted video APIs: Google Veo (Gemini API), Runway, Luma, and the OpenAI videos contract.

One file per provider; shared machinery (job journal, retries, checked downloads) in ``common.py``,
``journal.py`` and ``http.py``; the price table and cost estimate in ``prices.py``. Nothing here is
imported by ``import songreel``; the registry imports a provider module on first use.
"""
