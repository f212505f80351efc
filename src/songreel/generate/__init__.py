"""songreel.generate"""
