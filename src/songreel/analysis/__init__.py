"""songreel.analysis"""
