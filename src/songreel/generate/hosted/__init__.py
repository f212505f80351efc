"""Hosted video APIs: Google Veo (Gemini API), Runway, Luma, the Replicate gateway, and servers speaking
the OpenAI videos contract.

One file per provider (``veo.py``, ``runway.py``, ``luma.py``, ``replicate.py``, ``openai_videos.py``);
what they share, one job per module::

    common.py     the base class: options, keys, the journaled submit -> poll -> download cycle
    options.py    the options every hosted backend shares (a typed model each provider extends)
    types.py      the small data objects and errors
    media.py      conditioning images out, downloaded clips checked
    download.py   streaming a finished video home, retried, the key kept on the provider's origin
    http.py       retries, and the line between "safe to repeat" and "might pay twice"
    journal.py    the job journal (SQLite): intents, job ids, costs
    prices.py     the price table, the estimate, the spend per backend (no network client)

Nothing here is imported by ``import songreel``; the registry imports a provider module on first use.
"""
