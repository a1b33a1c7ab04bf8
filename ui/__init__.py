"""The app's Streamlit side: state and its URL (`state`, pure Python), caches, session and widgets."""
